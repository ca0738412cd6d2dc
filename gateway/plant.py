"""The demo's simulated plant: rooms that warm up when their relays (mock pins) are on.

Rules of this module:
- it is the *physical world* of the demo and of the hardware-in-the-loop tests, not part of the
  control path: it reads relay levels from the same GPIO pins the control service drives
  (gpiozero MockFactory), steps the same two-node zone model as ``village-gateway simulate``
  (:mod:`drivers.sim.zone_model`: ``[simulation.zones]`` archetypes or one-node shorthand, else the
  archetype of the building's kind) against a winter outdoor profile (:mod:`drivers.sim.weather`),
  and publishes what the zone's thermometers would read (the air temperature), through
  ``core.publish`` like any driver; the plant has no occupants, sunshine or windows (the demo's
  world is the pins: a test opens a window by driving its contact or forcing a temperature);
- time comes from the core's clock (real time in the demo, a ManualClock in tests); each step
  integrates exactly over the time elapsed since the previous one (monotonic time: a step of the
  wall clock is not an hour of heating), so any step length is stable;
- sensors configured as BLE thermometers are not published here: the simulated BLE radio sends
  real advertisements carrying the plant's temperature (:meth:`Plant.temperature`, handed to the
  simulated radio by the daemon);
- a sensor can be silenced (:meth:`Plant.silence`) to exercise the rules' fail-safe: a thermometer
  published here stops, and a BLE one is put in the simulated radio's ``silenced`` set
  (``Parts.ble_silenced``, shared with :mod:`gateway.services.ble`);
- ``[[simulation.outages]]`` silence their sensor while they last. The demo runs on today's date,
  not on the simulated week's, so each outage recurs every week at its weekday and local time
  (``mairie-t1``, Wednesday 02:00 for 3 h in examples/village.toml); it is resumed when it ends.

Demo time scale: real time, not accelerated. The heat capacities of every zone (air and structure)
are divided by ``capacity_divisor`` (default 10 in the demo) so that a room visibly warms within
minutes; the simulator (``village-gateway simulate``) and the HIL tests use the real capacities.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from drivers.sim.archetypes import zone_params
from drivers.sim.emitters import PilotWireConvector, RelayHeater
from drivers.sim.weather import Weather
from drivers.sim.zone_model import ZoneModel
from drivers.sim.zone_params import ZoneParams
from gateway.hooks import Hooks
from gateway.model import Reading
from gateway.schema.site import heated_zones
from gateway.service import StopPhase

log = logging.getLogger("gateway.plant")

#: A zone without ``[simulation.zones]`` entry, by building kind: (archetype, floor m², initial °C).
DEFAULT_ZONES: dict[str, tuple[str, float, float]] = {
    "mairie": ("mairie-pierre", 120.0, 15.0),
    "school": ("ecole-1970", 250.0, 14.0),
    "hall": ("salle-des-fetes-1980", 300.0, 12.0),
    "church": ("eglise-pierre", 400.0, 8.0),
    "gym": ("gymnase", 800.0, 12.0),
    "other": ("mairie-pierre", 100.0, 14.0),
}

#: Reading-to-reading noise of a BLE thermometer (LYWSD03MMC/pvvx: 0.01 °C resolution, a few
#: hundredths of jitter between successive adverts; its absolute error does not change the slope).
SENSOR_NOISE_C = 0.02

#: pilot-wire (plus closed, minus closed) -> order
_ORDER_OF_RELAYS = {
    (False, False): "confort",
    (True, True): "eco",
    (False, True): "hors_gel",
    (True, False): "arret",
}


@dataclass
class SimZone:
    """One simulated zone: its model, its heater, its relays and the sensors the plant feeds."""

    key: str
    building: str
    zone: str
    model: ZoneModel
    heater: RelayHeater | PilotWireConvector
    relays: tuple[str, ...]
    sensors: tuple[str, ...]
    power_kw: float = 0.0
    heater_on: bool = False
    silenced: set[str] = field(default_factory=set)


class Plant:
    """Steps every heated zone from its relays and publishes its thermometers."""

    name = "plant"
    stop_phase = StopPhase.PRODUCER

    def __init__(
        self,
        *,
        config: Any,
        core: Any,
        relay_level: Any,
        period_s: float = 10.0,
        capacity_divisor: float = 1.0,
        weather: Weather | None = None,
        initial_c: dict[str, float] | None = None,
        pins: Any = None,
        ble_silenced: set[str] | None = None,
    ) -> None:
        self.core = core
        #: BLE sensor ids the simulated radio must not advertise (shared with the BLE service)
        self.ble_silenced: set[str] = ble_silenced if ble_silenced is not None else set()
        self._tz = ZoneInfo(config.site.timezone)
        self._outages: list[tuple[str, datetime, timedelta]] = [
            (o.sensor, _local(o.start, self._tz), timedelta(hours=o.hours)) for o in config.simulation.outages
        ]
        self._in_outage: set[str] = set()  # sensors silenced by an outage (a manual silence is left alone)
        self._pins = pins  # the MockFactory whose input pins the simulated world drives
        self._inputs = config.gpio.inputs
        self.period_s = period_s
        self._relay_level = relay_level  # name -> bool, the pins' actual levels
        sim = config.simulation
        self._rng = random.Random(sim.seed)  # noqa: S311 - simulated sensor noise, not cryptography
        outdoor = sim.outdoor.figures()
        self.weather = weather or Weather(
            seed=sim.seed,
            mean_c=outdoor.mean_c,
            daily_swing_c=outdoor.daily_swing_c,
            day_to_day_c=outdoor.day_to_day_c,
        )
        ble_ids = {s.id for s in getattr(config.ble, "sensors", ())}
        self._ble_ids = ble_ids
        self.zones: dict[str, SimZone] = {}
        self.outdoor_sensors: set[str] = set()
        for bid, zid, building, _zone, heating in heated_zones(config.buildings):
            key = f"{bid}/{zid}"
            heater: RelayHeater | PilotWireConvector
            params, heater = _zone_model(
                config, key, building.kind, heating, divisor=capacity_divisor, initial=initial_c
            )
            self.zones[key] = SimZone(
                key=key,
                building=bid,
                zone=zid,
                model=ZoneModel(params),
                heater=heater,
                relays=heating.outputs,
                sensors=tuple(s for s in heating.sensors if s not in ble_ids),
            )
            if heating.outdoor_sensor and heating.outdoor_sensor not in ble_ids:
                self.outdoor_sensors.add(heating.outdoor_sensor)
        if sim.outdoor.sensor and sim.outdoor.sensor not in ble_ids:
            self.outdoor_sensors.add(sim.outdoor.sensor)
        self._last_mono: float | None = None

    # ---- what the simulated world looks like ----------------------------------------------------
    def temperature(self, building: str | None, zone: str | None) -> float | None:
        """The true temperature of a zone (for simulated BLE thermometers), or ``None``."""
        sim = self.zones.get(f"{building}/{zone}")
        return None if sim is None else sim.model.temperature_c

    def silence(self, sensor: str, silent: bool = True) -> None:
        """Stop (or resume) one thermometer: a dead battery, for the fail-safe.

        Published here or advertised by the simulated BLE radio, the sensor falls silent either way."""
        for sim in self.zones.values():
            if sensor in sim.sensors:
                (sim.silenced.add if silent else sim.silenced.discard)(sensor)
        if sensor in self._ble_ids:
            (self.ble_silenced.add if silent else self.ble_silenced.discard)(sensor)

    def outage_sensors(self, now_ns: int) -> set[str]:
        """The sensors an outage silences at ``now`` (each outage recurs weekly, see the module header)."""
        local = datetime.fromtimestamp(now_ns / 1e9, self._tz).replace(tzinfo=None)
        week = timedelta(days=7)
        return {sensor for sensor, start, length in self._outages if (local - start) % week < length}

    def _apply_outages(self, now_ns: int) -> None:
        due = self.outage_sensors(now_ns)
        for sensor in sorted(due - self._in_outage):
            log.info("simulated outage: %s stops sending", sensor)
            self.silence(sensor, True)
        for sensor in sorted(self._in_outage - due):
            log.info("simulated outage over: %s sends again", sensor)
            self.silence(sensor, False)
        self._in_outage = due

    def set_temperature(self, key: str, value: float) -> None:
        """Force a zone's temperature, air and structure (tests: a room found cold or hot)."""
        self.zones[key].model.temperature_c = value

    # ---- stepping -------------------------------------------------------------------------------
    def step(self) -> None:
        """Integrate every zone over the time since the last step, then publish the sensors."""
        now_ns = self.core.clock.time_ns()
        mono = self.core.clock.monotonic()
        dt_s = 0.0 if self._last_mono is None else max(0.0, mono - self._last_mono)
        self._last_mono = mono
        if self._outages:
            self._apply_outages(now_ns)
        outdoor = self.weather.temperature_c(now_ns)
        for sim in self.zones.values():
            if dt_s > 0:
                sim.model.step(dt_s, heater_kw=sim.power_kw, outdoor_c=outdoor)
            # the heater's power for the next interval follows the relays as they are now
            levels = tuple(bool(self._relay_level(r)) for r in sim.relays)
            if isinstance(sim.heater, PilotWireConvector):
                order = _ORDER_OF_RELAYS[(levels[0], levels[1])]
                sim.power_kw = sim.heater.power(order, sim.model.temperature_c)
            else:
                sim.power_kw = sim.heater.power(levels[0])
            sim.heater_on = sim.power_kw > 0
            for sensor in sim.sensors:
                if sensor in sim.silenced:
                    continue
                noise = self._rng.gauss(0.0, sim.model.params.sensor_noise_c)
                self._publish(sensor, sim.building, sim.zone, sim.model.sensor_reading(noise), now_ns)
        for sensor in self.outdoor_sensors:
            self._publish(sensor, None, None, round(outdoor, 2), now_ns)

    def _publish(self, device: str, building: str | None, zone: str | None, value: float, now_ns: int) -> None:
        try:
            reading = Reading.make(
                "climate",
                self.core.tags(device=device, building=building, zone=zone),
                {"temperature_c": value},
                time_ns=now_ns,
            )
        except ValueError as exc:
            log.debug("simulated reading refused: %s", exc)
            return
        self.core.publish(reading)

    def prepare(self) -> None:
        """Put the simulated world at rest: windows closed, nobody in front of the detectors."""
        if self._pins is None:
            return
        for spec in self._inputs.values():
            if spec.kind == "pulse":
                continue
            pin = self._pins.pin(spec.pin)
            if not hasattr(pin, "drive_low"):
                return  # real pins: the world is real
            pin.drive_low() if spec.active_high else pin.drive_high()

    async def run(self) -> None:
        """Step every ``period_s`` seconds until cancelled."""
        while True:
            self.step()
            await asyncio.sleep(self.period_s)


def _local(moment: datetime, tz: ZoneInfo) -> datetime:
    """A configured date-time as naive local wall time (TOML local date-times already are)."""
    return moment if moment.tzinfo is None else moment.astimezone(tz).replace(tzinfo=None)


def _zone_model(
    config: Any, key: str, kind: str, heating: Any, *, divisor: float, initial: dict[str, float] | None
) -> tuple[ZoneParams, RelayHeater | PilotWireConvector]:
    """The zone's model from ``[simulation.zones."b/z"]``, or the archetype of its kind of building."""
    configured = config.simulation.zones.get(key)
    if configured is not None:
        params = configured.params(design_outdoor_c=config.simulation.design_outdoor_c)
        if "sensor_noise_c" not in configured.model_fields_set:
            params = replace(params, sensor_noise_c=SENSOR_NOISE_C)
    else:
        archetype, area, start = DEFAULT_ZONES.get(kind, DEFAULT_ZONES["other"])
        params = zone_params(archetype, area, initial_c=start, sensor_noise_c=SENSOR_NOISE_C)
    if initial and key in initial:
        params = replace(params, initial_c=initial[key])
    params = replace(
        params, c_air_kwh_per_k=params.c_air_kwh_per_k / divisor, c_mass_kwh_per_k=params.c_mass_kwh_per_k / divisor
    )
    power = params.heater_kw
    if heating.pilot_wire is None:
        return params, RelayHeater(power)
    sp = heating.setpoints
    eco = configured.convector_eco_c if configured and configured.convector_eco_c else sp.reduit
    frost = configured.convector_hors_gel_c if configured else sp.hors_gel
    return params, PilotWireConvector(power, sp.confort, eco, frost)


def build_plant(
    config: Any,
    core: Any,
    *,
    relay_level: Callable[[str], bool],
    pins: Any,
    hooks: Hooks,
    demo: bool,
    ble_silenced: set[str],
) -> Plant:
    """The plant of the demo (or of a test asking for it), on the control service's pins."""
    divisor = hooks.plant_capacity_divisor
    return Plant(
        config=config,
        core=core,
        relay_level=relay_level,
        period_s=hooks.plant_period_s,
        capacity_divisor=divisor if divisor is not None else (10.0 if demo else 1.0),
        initial_c=dict(hooks.plant_initial_c) if hooks.plant_initial_c is not None else None,
        pins=pins,
        ble_silenced=ble_silenced,
    )
