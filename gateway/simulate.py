"""What-if simulation: the REAL rules engine against thermal models, faster than real time.

Rules of this module:
- ``decide`` is called exactly as the daemon calls it (a ``State`` built from readings with their
  times, relay states with their last-switch times, the memory it returned last tick);
- each heated zone is simulated twice with the same weather: once driven by the rules, once as the
  *baseline* (held at confort all the time by a plain thermostat with the same hysteresis, or
  convectors left at the confort order);
- everything is deterministic from the configuration's seed: same file, same figures;
- the result is plain data (:func:`simulate` returns the JSON object ``simulate --json`` prints).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from drivers.sim.emitters import PilotWireConvector, RelayHeater
from drivers.sim.weather import Offset, Weather
from drivers.sim.zone_model import ZoneModel
from rules import lighting, schedule
from rules.config import Site, ZoneSpec, site_from_config
from rules.engine import TEMPERATURE_FIELD, decide
from rules.pilot_wire import order_of
from rules.types import Booking, Decision, Memory, RelayState, SensorValue, State

NS = 1_000_000_000
HOUR_NS = 3600 * NS
#: occupied time counts as "below target" under target − this (issue 3)
BELOW_TARGET_MARGIN_C = 0.5


class SimulationError(ValueError):
    """The configuration cannot be simulated (e.g. a heated zone without [simulation.zones] entry)."""


@dataclass(slots=True)
class _ZoneRun:
    spec: ZoneSpec
    model: ZoneModel
    baseline: ZoneModel
    heater: RelayHeater | PilotWireConvector
    baseline_heater: RelayHeater | PilotWireConvector
    baseline_on: bool = False
    switches: int = 0
    occupied_h: float = 0.0
    below_h: float = 0.0
    min_c: float = math.inf
    max_c: float = -math.inf


@dataclass(slots=True)
class _CircuitRun:
    on_h: float = 0.0
    baseline_h: float = 0.0


@dataclass(slots=True)
class Trace:
    """Optional per-tick record for tests and plots: (time_ns, zone, temperature, heating, mode)."""

    rows: list[tuple[int, str, float, bool, str]] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)


def _local_ns(moment: datetime, tz: ZoneInfo) -> int:
    return schedule.to_ns(moment.replace(tzinfo=tz) if moment.tzinfo is None else moment)


def simulate(
    config: Any, *, days: float = 7.0, start: date | None = None, trace: Trace | None = None
) -> dict[str, Any]:
    """Run the site for ``days`` from local midnight of ``start``; return the figures of issue 3."""
    site = site_from_config(config)
    sim = config.simulation
    tz = ZoneInfo(site.timezone)
    first = start or sim.start or date(2026, 1, 12)
    start_ns = schedule.local_ns(first, 0, tz)
    end_ns = start_ns + int(days * 24 * HOUR_NS)
    tick_ns = int(sim.tick_s * NS)
    offset_h = (datetime.combine(first, datetime.min.time(), tz).utcoffset() or timedelta()).total_seconds() / 3600
    outdoor_figures = sim.outdoor.figures()
    weather = Weather(
        seed=sim.seed,
        mean_c=outdoor_figures.mean_c,
        daily_swing_c=outdoor_figures.daily_swing_c,
        day_to_day_c=outdoor_figures.day_to_day_c,
        utc_offset_h=offset_h,
        offsets=tuple(
            Offset(_local_ns(o.start, tz), _local_ns(o.start, tz) + int(o.hours * HOUR_NS), o.delta_c)
            for o in sim.outdoor_offsets
        ),
    )
    outages = [(o.sensor, _local_ns(o.start, tz), _local_ns(o.start, tz) + int(o.hours * HOUR_NS)) for o in sim.outages]
    bookings = tuple(
        Booking(b.zone, _local_ns(b.start, tz), _local_ns(b.end, tz), b.mode, b.label) for b in sim.bookings
    )
    zones = [_zone_run(spec, sim.zones, sim.design_outdoor_c) for spec in site.zones]
    circuits = {cid: _CircuitRun() for cid in site.lighting.circuits}
    rng = random.Random(sim.seed)  # noqa: S311 (reproducible sensor noise, not cryptography)
    relays: dict[str, RelayState] = {relay: RelayState(False, None) for relay in site.outputs()}
    readings: dict[tuple[str, str], SensorValue] = {}
    memory = Memory()
    dt_s = tick_ns / NS
    now_ns = start_ns
    while now_ns < end_ns:
        outdoor = weather.temperature_c(now_ns)
        _read_sensors(zones, readings, outages, rng, now_ns)
        if sim.outdoor.sensor:
            readings[(sim.outdoor.sensor, TEMPERATURE_FIELD)] = SensorValue(round(outdoor, 2), now_ns)
        state = State(
            readings=MappingProxyType(dict(readings)),
            relays=MappingProxyType(dict(relays)),
            bookings=bookings,
            memory=memory,
        )
        decision = decide(site, state, schedule.from_ns(now_ns, tz))
        memory = decision.memory
        for action in decision.actions:
            current = relays[action.output]
            if current.on != action.on:
                relays[action.output] = RelayState(action.on, now_ns)
                for run in zones:
                    if action.output in run.spec.heating.outputs:
                        run.switches += 1
        if trace is not None:
            trace.decisions.append(decision)
        for run, status in zip(zones, decision.zones, strict=True):
            _step_zone(run, relays, status.occupied, dt_s=dt_s, outdoor=outdoor)
            if trace is not None:
                trace.rows.append((now_ns, run.spec.key, run.model.temperature_c, status.heating, status.mode))
        for lit in decision.circuits:
            circuits[lit.circuit].on_h += dt_s / 3600 if lit.on else 0.0
        if circuits:
            dark, _ = lighting.is_dark(
                site.latitude,
                site.longitude,
                site.timezone,
                now_ns=now_ns,
                today=schedule.from_ns(now_ns, tz).date(),
                sunset_offset_min=0.0,
                sunrise_offset_min=0.0,
            )
            for run_c in circuits.values():
                run_c.baseline_h += dt_s / 3600 if dark else 0.0  # dusk to dawn
        now_ns += tick_ns
    return _report(zones, circuits)


def _zone_run(spec: ZoneSpec, params: Mapping[str, Any], design_outdoor_c: float) -> _ZoneRun:
    cfg = params.get(spec.key)
    if cfg is None:
        raise SimulationError(f'zone {spec.key!r} is heated but has no [simulation.zones."{spec.key}"] table')
    thermal = cfg.params(design_outdoor_c=design_outdoor_c)
    heating = spec.heating
    heater: RelayHeater | PilotWireConvector
    baseline_heater: RelayHeater | PilotWireConvector
    if heating.pilot_wire is not None:
        eco = cfg.convector_eco_c if cfg.convector_eco_c is not None else heating.setpoints.reduit
        power = thermal.heater_kw
        heater = PilotWireConvector(power, heating.setpoints.confort, eco, cfg.convector_hors_gel_c)
        baseline_heater = PilotWireConvector(power, heating.setpoints.confort, eco, cfg.convector_hors_gel_c)
    else:
        heater, baseline_heater = RelayHeater(thermal.heater_kw), RelayHeater(thermal.heater_kw)
    return _ZoneRun(spec, ZoneModel(thermal), ZoneModel(thermal), heater, baseline_heater)


def _read_sensors(
    zones: list[_ZoneRun],
    readings: dict[tuple[str, str], SensorValue],
    outages: list[tuple[str, int, int]],
    rng: random.Random,
    now_ns: int,
) -> None:
    for run in zones:
        for sensor in run.spec.heating.sensors:
            value = run.model.sensor_reading(rng.gauss(0.0, run.model.params.sensor_noise_c))
            if any(name == sensor and start <= now_ns < end for name, start, end in outages):
                continue  # the sensor is silent: its last reading ages
            readings[(sensor, TEMPERATURE_FIELD)] = SensorValue(value, now_ns)


def _step_zone(
    run: _ZoneRun,
    relays: Mapping[str, RelayState],
    occupied: bool,
    *,
    dt_s: float,
    outdoor: float,
) -> None:
    heating = run.spec.heating
    temperature = run.model.temperature_c
    if occupied:
        run.occupied_h += dt_s / 3600
        if temperature < heating.setpoints.confort - BELOW_TARGET_MARGIN_C:
            run.below_h += dt_s / 3600
    run.min_c, run.max_c = min(run.min_c, temperature), max(run.max_c, temperature)
    if isinstance(run.heater, PilotWireConvector) and heating.pilot_wire is not None:
        order = order_of(relays[heating.pilot_wire.plus].on, relays[heating.pilot_wire.minus].on)
        power = run.heater.power(order, temperature)
    elif isinstance(run.heater, RelayHeater) and heating.relay is not None:
        power = run.heater.power(relays[heating.relay].on)
    else:  # pragma: no cover - _zone_run pairs heaters and outputs
        raise SimulationError(f"zone {run.spec.key}: heater and output do not match")
    run.model.step(dt_s, heater_kw=power, outdoor_c=outdoor)
    # the baseline: held at confort all the time by a plain thermostat (same hysteresis)
    base_t = run.baseline.temperature_c
    if isinstance(run.baseline_heater, PilotWireConvector):
        base_power = run.baseline_heater.power("confort", base_t)
    else:
        target = heating.setpoints.confort
        if base_t <= target - heating.cold_tolerance:
            run.baseline_on = True
        elif base_t > target + heating.hot_tolerance:
            run.baseline_on = False
        base_power = run.baseline_heater.power(run.baseline_on)
    run.baseline.step(dt_s, heater_kw=base_power, outdoor_c=outdoor)


def _report(zones: list[_ZoneRun], circuits: Mapping[str, _CircuitRun]) -> dict[str, Any]:
    out_zones = {
        run.spec.key: {
            "heating_kwh": round(run.model.energy_kwh, 1),
            "baseline_kwh": round(run.baseline.energy_kwh, 1),
            "occupied_hours": round(run.occupied_h, 2),
            "occupied_hours_below_target": round(run.below_h, 2),
            "min_temperature_c": round(run.min_c, 2),
            "max_temperature_c": round(run.max_c, 2),
            "relay_switches": run.switches,
        }
        for run in zones
    }
    heating_kwh = sum(run.model.energy_kwh for run in zones)
    baseline_kwh = sum(run.baseline.energy_kwh for run in zones)
    return {
        "zones": out_zones,
        "lighting": {
            cid: {"on_hours": round(c.on_h, 2), "baseline_on_hours": round(c.baseline_h, 2)}
            for cid, c in sorted(circuits.items())
        },
        "totals": {
            "heating_kwh": round(heating_kwh, 1),
            "baseline_kwh": round(baseline_kwh, 1),
            "saving_pct": round(100 * (1 - heating_kwh / baseline_kwh), 1) if baseline_kwh > 0 else 0.0,
        },
    }


def site_of(config: Any) -> Site:
    """The rules' view of the configuration (re-exported for the command and tests)."""
    return site_from_config(config)
