"""The rules under test: ``rules.engine.decide`` for the whole site, tick by tick, as the daemon calls it.

Rules of this module:
- ``decide`` gets what the daemon gives it: readings with their measurement times (each zone's
  sensors read the air with their own noise; a sensor in an injected outage sends nothing and its
  last reading ages), the outdoor thermometer, binary inputs with the time of their last edge
  (presence detectors, window and door contacts, from the world), the relays with their last switch
  times, the bookings, and the memory it returned on the previous tick (kept through the warm-up);
- relays take the decided levels at once; the heaters draw their power over the next tick;
- lighting circuits are counted against dusk-to-dawn over the reported period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

from drivers.sim.emitters import PilotWireConvector, RelayHeater
from drivers.sim.zone_model import ZoneModel
from gateway.simulation.baselines import heater_of
from gateway.simulation.metrics import ZoneMetrics
from gateway.simulation.world import World, ZoneWorld
from rules import lighting, schedule
from rules.config import Site
from rules.engine import TEMPERATURE_FIELD, decide
from rules.pilot_wire import order_of
from rules.types import Decision, InputState, Memory, RelayState, SensorValue, State


@dataclass(slots=True)
class Trace:
    """Optional per-tick record of the reported period: (time_ns, zone, air °C, heating, mode), decisions."""

    rows: list[tuple[int, str, float, bool, str]] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)


@dataclass(slots=True)
class RulesResult:
    """The rules' metrics per zone and lighting hours per circuit."""

    zones: dict[str, ZoneMetrics]
    lighting: dict[str, tuple[float, float]]  # circuit -> (on hours, dusk-to-dawn hours)
    memory: Memory


@dataclass(slots=True)
class _Shell:
    """What the daemon holds between evaluations: readings, inputs, relays, memory."""

    world: World
    outdoor_sensor: str | None
    relays: dict[str, RelayState]
    readings: dict[tuple[str, str], SensorValue] = field(default_factory=dict)
    inputs: dict[str, InputState] = field(default_factory=dict)
    edge_at: dict[str, int] = field(default_factory=dict)
    memory: Memory = field(default_factory=Memory)

    def state(self, i: int, models: list[ZoneModel]) -> State:
        """Readings and inputs as they stand at tick ``i``."""
        world, now = self.world, self.world.clock.time(i)
        for zw, model in zip(world.zones, models, strict=True):
            for sensor in zw.spec.heating.sensors:
                if any(a <= now < b for a, b in world.outages.get(sensor, ())):
                    continue  # silent: its last reading ages
                value = model.sensor_reading(zw.noise[sensor][i])
                self.readings[(sensor, TEMPERATURE_FIELD)] = SensorValue(value, now)
        if self.outdoor_sensor:
            self.readings[(self.outdoor_sensor, TEMPERATURE_FIELD)] = SensorValue(round(world.outdoor[i], 2), now)
        for name, edges in world.inputs.items():
            k = self.edge_at.get(name, 0)
            while k < len(edges) and edges[k][0] <= now:
                self.inputs[name] = InputState(edges[k][1], edges[k][0])
                k += 1
            self.edge_at[name] = k
        return State(
            readings=MappingProxyType(dict(self.readings)),
            inputs=MappingProxyType(dict(self.inputs)),
            relays=MappingProxyType(dict(self.relays)),
            bookings=world.bookings,
            memory=self.memory,
        )


def _power(
    zw: ZoneWorld, heater: RelayHeater | PilotWireConvector, relays: dict[str, RelayState], air_c: float
) -> float:
    heating = zw.spec.heating
    if isinstance(heater, PilotWireConvector) and heating.pilot_wire is not None:
        return heater.power(order_of(relays[heating.pilot_wire.plus].on, relays[heating.pilot_wire.minus].on), air_c)
    if isinstance(heater, RelayHeater):
        return heater.power(relays[heating.outputs[0]].on)
    raise TypeError(f"zone {zw.key}: heater and outputs do not match")  # pragma: no cover - heater_of pairs them


def run_rules(world: World, site: Site, outdoor_sensor: str | None, trace: Trace | None = None) -> RulesResult:
    """Run ``decide`` over the whole world (warm-up included)."""
    clock = world.clock
    models = [ZoneModel(zw.params) for zw in world.zones]
    heaters = [heater_of(zw) for zw in world.zones]
    metrics = {zw.key: ZoneMetrics() for zw in world.zones}
    owner = {out: zw.key for zw in world.zones for out in zw.spec.heating.outputs}
    shell = _Shell(world, outdoor_sensor, {relay: RelayState(False, None) for relay in site.outputs()})
    shell.inputs = {name: InputState(False, 0) for name in world.inputs}
    lights = {cid: [0.0, 0.0] for cid in site.lighting.circuits}
    dt_h = clock.dt_s / 3600
    for i in range(clock.n):
        now = clock.time(i)
        reported = i >= clock.report_i
        decision = decide(site, shell.state(i, models), schedule.from_ns(now, world.tz))
        shell.memory = decision.memory
        for action in decision.actions:
            if shell.relays[action.output].on != action.on:
                shell.relays[action.output] = RelayState(action.on, now)
                if reported and action.output in owner:
                    metrics[owner[action.output]].switches += 1
        if reported and trace is not None:
            trace.decisions.append(decision)
        for zw, model, heater, status in zip(world.zones, models, heaters, decision.zones, strict=True):
            power = _power(zw, heater, shell.relays, model.air_c)
            if reported:
                metrics[zw.key].tick(zw, i, model, dt_h)
                if trace is not None:
                    trace.rows.append((now, zw.key, model.air_c, status.heating, status.mode))
            world.step(model, zw, i, heater_kw=power)
        if reported and lights:
            _count_lights(site, decision, lights, now=now, world=world, dt_h=dt_h)
    for zw, model in zip(world.zones, models, strict=True):
        metrics[zw.key].finish(model)
    return RulesResult(metrics, {cid: (on, base) for cid, (on, base) in lights.items()}, shell.memory)


def _count_lights(
    site: Site, decision: Decision, lights: dict[str, list[float]], *, now: int, world: World, dt_h: float
) -> None:
    for lit in decision.circuits:
        if lit.on:
            lights[lit.circuit][0] += dt_h
    dark, _ = lighting.is_dark(
        site.latitude,
        site.longitude,
        site.timezone,
        now_ns=now,
        today=schedule.from_ns(now, world.tz).date(),
        sunset_offset_min=0.0,
        sunrise_offset_min=0.0,
    )
    if dark:  # the baseline: dusk to dawn
        for counts in lights.values():
            counts[1] += dt_h
