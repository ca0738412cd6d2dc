"""A simulated past for the demo: N days of hourly figures written into an empty hourly archive.

What it is for: ``village-gateway demo --history-days 400`` starts with a year and more of history, so
the Énergie page, the public page and ``village-gateway report`` show a winter against the last at
once. The point is plausible meters and temperatures, not the rules' exact figures:

* outdoor temperatures from the seasonal climate of :mod:`drivers.sim.climate` (Loire valley normals,
  persistent day-to-day weather), published as the configured outdoor sensor;
* each heated zone is one thermal node stepped hour by hour in closed form (``C dT/dt = P − UA (T − To)``,
  figures from ``[simulation.zones]``, or typical ones for the building's kind), under a simple
  controller: the schedule's mode from :func:`rules.schedule.evaluate` (exceptions, holidays and
  unoccupied gaps included), a warm-up started ahead of occupancy, and the heater power that reaches
  the target within the hour, capped at the heater's rating;
* **before the gateway** (until the start of the heating season before the last 30 days) the buildings
  were run as many are without one: confort 1 °C warmer and two hours longer on each side, never below
  réduit + 1 °C, façades lit from dusk to dawn; **with the gateway** the configured schedules, setpoints
  and night cuts apply. So last winter against this one shows what the gateway saves;
* each building's electricity meter counts its zones' heating plus a base load that follows occupancy;
  water meters count while the building is occupied; counters start at the simulated meters' first
  values (:class:`drivers.sim.meters.MeterModel`) and only increase;
* façade relays are sampled at each switch (as the control loop publishes them), zone targets and
  the heater's duty fraction once an hour (the hourly mean the loop's per-tick 0/1 samples give).

Rules of this module: deterministic from ``seed`` (same config, seed, end and days: same archive);
written only through :meth:`gateway.archive.Archive.add` into a fresh file that replaces the archive
only once complete (a crash leaves no half history); idempotent: an archive that already holds hours
is left alone (the archive folds readings in time order, so history cannot be slid under live data).
"""

from __future__ import annotations

import contextlib
import math
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from drivers.sim.climate import Climate
from gateway.archive import Archive, read_hours
from gateway.clock import SystemClock
from gateway.model import Reading
from gateway.schema.report import outdoor_sensor
from gateway.schema.site import heated_zones
from rules.lighting import sun_of
from rules.schedule import evaluate

NS = 1_000_000_000
HOUR_NS = 3600 * NS

#: Typical zones by building kind when ``[simulation.zones]`` says nothing:
#: (heat capacity kWh/K, loss coefficient kW/K, heater kW, initial °C).
TYPICAL_ZONES: dict[str, tuple[float, float, float, float]] = {
    "mairie": (8.0, 0.30, 10.0, 16.0),
    "school": (18.0, 0.65, 25.0, 15.0),
    "hall": (12.0, 0.60, 28.0, 12.0),
    "church": (150.0, 2.5, 40.0, 9.0),
    "gym": (25.0, 0.9, 35.0, 12.0),
    "other": (8.0, 0.30, 10.0, 15.0),
}
#: Base electrical load by building kind (kW unoccupied, kW more while occupied).
BASE_LOAD_KW: dict[str, tuple[float, float]] = {
    "mairie": (0.35, 2.2),
    "school": (0.45, 4.0),
    "hall": (0.25, 3.0),
    "church": (0.05, 1.2),
    "gym": (0.3, 3.5),
    "other": (0.2, 1.5),
}
#: Water drawn while a building is occupied (m³/h).
WATER_M3_PER_H = 0.12


@dataclass(frozen=True, slots=True)
class SeedResult:
    """What :func:`seed_history` did."""

    seeded: bool
    message: str
    readings: int = 0
    first_ns: int | None = None
    end_ns: int | None = None
    counters: dict[str, float] = field(default_factory=dict)  # device -> last counter value


@dataclass(slots=True)
class _Zone:
    key: str
    building: str
    zone: str
    heating: Any
    capacity_kwh_per_k: float
    ua_kw_per_k: float
    heater_kw: float
    temperature_c: float
    boost_c: float = 0.0  # local heating (pew heaters): felt − air at full power


def zone_figures(config: Any, building_kind: str, key: str) -> tuple[float, float, float, float, float]:
    """(C kWh/K, UA kW/K, heater kW, initial °C, local boost °C) of a zone from ``[simulation.zones]``: a
    building model's ``params()`` (archetypes: total capacity, steady-state loss, heater, and the felt
    boost of local heating such as pew heaters), or the one-node figures, else :data:`TYPICAL_ZONES`."""
    sim = getattr(config, "simulation", None)
    configured = getattr(sim, "zones", {}).get(key) if sim is not None else None
    if configured is None:
        return (*TYPICAL_ZONES.get(building_kind, TYPICAL_ZONES["other"]), 0.0)
    initial = float(getattr(configured, "initial_c", 12.0))
    params = getattr(configured, "params", None)
    if callable(params):
        p = params(design_outdoor_c=float(getattr(sim, "design_outdoor_c", -7.0)))
        emitter = getattr(p, "emitter", None)
        boost = float(getattr(emitter, "boost_c", 0.0)) if getattr(emitter, "kind", "") == "local" else 0.0
        return float(p.heat_capacity_kwh_per_k), float(p.ua_kw_per_k), float(p.heater_kw), initial, boost
    return (
        float(configured.heat_capacity_kwh_per_k),
        float(configured.loss_kw_per_k),
        float(configured.heater_kw),
        initial,
        0.0,
    )


def managed_since(end: datetime, season_start_month: int) -> date:
    """When the gateway took over in the simulated past: the heating season's start (1st of
    ``season_start_month``, one month earlier for the autumn's tuning) before ``end`` − 30 days."""
    ref = (end - timedelta(days=30)).date()
    month = season_start_month - 1 or 12
    start = date(ref.year, month, 1)
    return start if start <= ref else date(ref.year - 1, month, 1)


class VillageHistory:
    """The simulated village, stepped one hour at a time from ``start``."""

    def __init__(self, config: Any, *, start: datetime, seed: int) -> None:
        self.config = config
        self.site = config.site.id
        self.tz = ZoneInfo(config.site.timezone)
        self.start = start
        self.climate = Climate(seed=seed, longitude=config.site.longitude)
        self.rng = random.Random(seed)  # noqa: S311 - a simulation, not cryptography
        self.outdoor = _outdoor_sensors(config)
        self.zones: list[_Zone] = []
        for bid, zid, building, _zone, heating in heated_zones(config.buildings):
            c, ua, kw, initial, boost = zone_figures(config, building.kind, f"{bid}/{zid}")
            self.zones.append(_Zone(f"{bid}/{zid}", bid, zid, heating, c, ua, kw, initial, boost))
        self.meters: dict[str, tuple[Any, str]] = {}  # device id -> (device, field)
        self.counters: dict[str, float] = {}
        for bus in config.buses.values():
            for device in getattr(bus, "devices", ()):
                fld = "water_m3" if getattr(device, "quantity", None) == "water_m3" else "energy_import_kwh"
                self.meters[device.id] = (device, fld)
                unit = int(getattr(device, "unit", 1))
                self.counters[device.id] = 100.0 + 3.0 * unit if fld == "water_m3" else 1000.0 + 97.0 * unit

    # ---- one hour -------------------------------------------------------------------------------
    def hour(self, t_ns: int, *, managed: bool) -> Iterator[Reading]:
        """The readings of the hour starting at ``t_ns``; the counters at its start, the hour's use after."""
        outdoor = self.climate.temperature_c(t_ns + HOUR_NS // 2)
        for sensor in self.outdoor:
            yield Reading.make("climate", {"site": self.site, "device": sensor},
                               {"temperature_c": round(self.climate.temperature_c(t_ns), 2)}, time_ns=t_ns)
        heating_kwh: dict[str, float] = {}
        occupied_buildings: set[str] = set()
        for zone in self.zones:
            target, occupied = self._target(zone, t_ns, managed=managed)
            if occupied:
                occupied_buildings.add(zone.building)
            kwh, duty = self._step(zone, target, outdoor)
            heating_kwh[zone.building] = heating_kwh.get(zone.building, 0.0) + kwh
            tags = {"site": self.site, "building": zone.building, "zone": zone.zone}
            for sensor in zone.heating.sensors:
                noise = self.rng.gauss(0.0, 0.05)
                yield Reading.make("climate", {**tags, "device": sensor},
                                   {"temperature_c": round(zone.temperature_c + noise, 2)}, time_ns=t_ns)
            yield Reading.make("climate", {**tags, "device": zone.key},
                               {"target_c": target, "heater_on": round(duty, 3)}, time_ns=t_ns)
        for device_id, (device, fld) in self.meters.items():
            building = getattr(device, "building", None)
            yield Reading.make("meter", {"site": self.site, "device": device_id, "building": building},
                               {fld: round(self.counters[device_id], 3)}, time_ns=t_ns)
            self.counters[device_id] += self._use(device_id, fld, building, building in occupied_buildings,
                                                   heating_kwh)

    def _target(self, zone: _Zone, t_ns: int, *, managed: bool) -> tuple[float | None, bool]:
        """The zone's target this hour and whether its schedule says it is occupied."""
        heating = zone.heating
        sp = heating.setpoints
        mid = t_ns + HOUR_NS // 2
        if managed:
            state = evaluate(heating, self.tz, zone.key, (), mid)
            if not state.occupied and state.next_occupancy is not None:  # warm-up ahead of occupancy
                rate = heating.optimum_start.rate_c_per_h
                lead_h = min(heating.optimum_start.max_preheat_h, max(0.0, sp.confort - zone.temperature_c) / rate)
                if state.next_occupancy.start_ns - mid <= lead_h * HOUR_NS:
                    return sp.confort, False
            mode = state.mode
            setpoint = {"confort": sp.confort, "reduit": sp.reduit, "hors_gel": sp.hors_gel}.get(mode)
            return setpoint, state.occupied
        # before the gateway: a generous programmable thermostat
        occupied = evaluate(heating, self.tz, zone.key, (), mid).occupied
        warm = occupied or any(evaluate(heating, self.tz, zone.key, (), mid + k * HOUR_NS).occupied for k in (-2, 2))
        return (sp.confort + 1.0 if warm else sp.reduit + 1.0), occupied

    @staticmethod
    def _step(zone: _Zone, target: float | None, outdoor: float) -> tuple[float, float]:
        """One hour of the zone's node; the heater gives what reaches ``target`` within the hour (capped).
        With local heating (pew heaters) the people feel the air plus the heaters' boost: the air's
        target is that much lower."""
        decay = math.exp(-zone.ua_kw_per_k / zone.capacity_kwh_per_k)
        power = 0.0
        if target is not None and zone.boost_c and target > zone.temperature_c:
            target -= zone.boost_c
        if target is not None and zone.heater_kw > 0:
            needed = zone.ua_kw_per_k * (target - outdoor - (zone.temperature_c - outdoor) * decay) / (1 - decay)
            power = min(zone.heater_kw, max(0.0, needed))
        equilibrium = outdoor + power / zone.ua_kw_per_k
        zone.temperature_c = equilibrium + (zone.temperature_c - equilibrium) * decay
        return power, (power / zone.heater_kw if zone.heater_kw > 0 else 0.0)

    def _use(self, device_id: str, fld: str, building: str | None, occupied: bool, heating: dict[str, float]) -> float:
        jitter = 0.9 + 0.2 * self.rng.random()
        if fld == "water_m3":
            return WATER_M3_PER_H * jitter if occupied else 0.0
        kind = self.config.buildings[building].kind if building in self.config.buildings else "other"
        base, extra = BASE_LOAD_KW.get(kind, BASE_LOAD_KW["other"])
        first_meter = next((d for d, (dev, f) in self.meters.items()
                            if f == fld and getattr(dev, "building", None) == building), device_id)
        heat = heating.get(building or "", 0.0) if first_meter == device_id else 0.0
        return (base + (extra if occupied else 0.0)) * jitter + heat

    # ---- façades --------------------------------------------------------------------------------
    def lighting_switches(self, day: date, *, managed: bool) -> Iterator[Reading]:
        """The façade and street circuits' switches of local ``day`` (evening) and the next morning."""
        site = self.config.site
        for circuit in self.config.lighting.circuits.values():
            if circuit.kind not in {"facade", "street"} or not circuit.dusk_to_dawn:
                continue
            today = sun_of(site.latitude, site.longitude, day, site.timezone)
            tomorrow = sun_of(site.latitude, site.longitude, day + timedelta(days=1), site.timezone)
            if today.set_ns is None or tomorrow.rise_ns is None:
                continue
            on_ns = today.set_ns + int(circuit.sunset_offset_min * 60) * NS
            off_ns = tomorrow.rise_ns - int(circuit.sunrise_offset_min * 60) * NS
            switches = [(on_ns, True), (off_ns, False)]
            cut = circuit.night_cut if circuit.night_cut != "default" else self.config.lighting.night_cut
            if managed and cut is not None:
                cut_start = _local_ns(day, cut.start, self.tz, after=on_ns)
                cut_end = _local_ns(day, cut.end, self.tz, after=cut_start)
                switches = [(on_ns, True), (min(cut_start, off_ns), False)]
                if cut_end < off_ns:
                    switches += [(cut_end, True), (off_ns, False)]
            tags = {"site": self.site, "device": circuit.relay}
            building = self._relay_building(circuit.relay)
            if building:
                tags["building"] = building
            for at_ns, on in switches:
                yield Reading.make("relay", tags, {"on": on}, time_ns=at_ns)

    def _relay_building(self, relay: str) -> str | None:
        spec = self.config.gpio.relays.get(relay)
        return getattr(spec, "building", None) if spec is not None else None


def _local_ns(day: date, clock: str, tz: ZoneInfo, *, after: int) -> int:
    """``HH:MM`` on local ``day`` (or the day after, if that is not after ``after``)."""
    hour, minute = (int(part) for part in clock.split(":"))
    for offset in (0, 1):
        moment = datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(days=offset, hours=hour, minutes=minute)
        at = int(moment.timestamp()) * NS
        if at > after:
            return at
    return at


def _outdoor_sensors(config: Any) -> list[str]:
    names = {
        z.heating.outdoor_sensor
        for b in config.buildings.values()
        for z in b.zones.values()
        if z.heating is not None and z.heating.outdoor_sensor
    }
    main = outdoor_sensor(config)
    if main:
        names.add(main)
    return sorted(names)


def history(village: VillageHistory, *, end: datetime, days: int) -> Iterator[list[Reading]]:
    """The readings of ``days`` days before ``end`` (an hour boundary), one list per local day, in time
    order within each series (a façade's evening switches come with the day they start)."""
    start = end - timedelta(days=days)
    switch = managed_since(end, village.config.report.heating_season_start_month)
    batch: list[Reading] = []
    day: date | None = None
    t_ns = int(start.timestamp()) * NS
    end_ns = int(end.timestamp()) * NS
    while t_ns < end_ns:
        local = datetime.fromtimestamp(t_ns / NS, village.tz)
        managed = local.date() >= switch
        if local.date() != day:
            if batch:
                yield batch
            batch, day = [], local.date()
            batch.extend(r for r in village.lighting_switches(day, managed=managed) if t_ns <= r.time_ns < end_ns)
        batch.extend(village.hour(t_ns, managed=managed))
        t_ns += HOUR_NS
    if batch:
        yield batch


def seed_history(
    config: Any, path: Path, *, days: int, end: datetime | None = None, seed: int | None = None
) -> SeedResult:
    """Write ``days`` of simulated history ending at ``end`` (default: the current hour) into the archive
    at ``path``, if it holds no hour yet. The file is built beside it and moved into place when complete."""

    if days <= 0:
        return SeedResult(False, "no history asked for")
    if path.exists():
        rows = read_hours(path, 0, 2**62)
        try:
            first = next(rows, None)
        finally:
            close = getattr(rows, "close", None)
            if close is not None:
                close()  # ends the generator: its read-only connection is closed
        if first is not None:
            since = datetime.fromtimestamp(first.hour_ns / NS, UTC).date().isoformat()
            return SeedResult(False, f"the archive already holds data since {since}: nothing seeded "
                                     "(history only fills an empty archive; use a new --state-dir)")
    end = end or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    seed = config.simulation.seed if seed is None else seed
    work = path.with_name(path.name + ".seeding")
    for extra in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{work}{extra}")
    archive = Archive(work, clock=SystemClock())
    count = 0
    try:
        village = VillageHistory(config, start=end - timedelta(days=days), seed=seed)
        for index, batch in enumerate(history(village, end=end, days=days)):
            archive.add(batch)
            count += len(batch)
            if index % 30 == 29:
                archive.flush()
    finally:
        archive.close()
    for extra in ("", "-wal", "-shm"):
        if os.path.exists(f"{work}{extra}"):
            os.replace(f"{work}{extra}", f"{path}{extra}")
        elif extra:
            with contextlib.suppress(FileNotFoundError):
                os.remove(f"{path}{extra}")
    start_ns = int((end - timedelta(days=days)).timestamp()) * NS
    return SeedResult(True, f"{days} days of simulated history seeded", count, start_ns,
                      int(end.timestamp()) * NS, dict(village.counters))
