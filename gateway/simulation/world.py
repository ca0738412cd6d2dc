"""The simulated world, computed once and shared by every controller: identical weather, sunshine,
occupancy, no-shows, open windows, sensor outages and sensor noise for the rules and the baselines.

Rules of this module:
- everything is a per-tick array over the whole run (warm-up included), a pure function of the
  configuration and its seed; controllers only read it;
- inputs are held over a tick at their value at the tick's start (``t_i``);
- the schedule comes from ``rules.schedule.evaluate`` (re-evaluated only when a scheduled boundary or
  a local midnight is crossed), so occupancy means exactly what the rules' configuration says;
- an *occurrence* is a run of occupied ticks with one target; people are present during it unless it
  is a no-show (explicit ``[[simulation.no_shows]]`` or drawn with ``no_show_pct``, seeded per
  occurrence so that a longer run does not change earlier draws);
- present people bring their sensible heat (half convective, half radiant), the zone's internal
  gains and their hygienic ventilation; open windows add their loss to the air node.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from drivers.sim.solar import Sky
from drivers.sim.weather import Offset, Weather
from drivers.sim.zone_model import ZoneModel
from drivers.sim.zone_params import ZoneParams
from rules import schedule
from rules.config import Mode, ZoneSpec
from rules.types import Booking

NS = 1_000_000_000
HOUR_NS = 3600 * NS
SOLAR_STEP_NS = 600 * NS  # sunshine is computed every 10 minutes and held
AIRING_RECOVERY_NS = 30 * 60 * NS  # after a window closes, comfort is not judged for this long


class SimulationError(ValueError):
    """The configuration cannot be simulated (e.g. a heated zone without [simulation.zones] entry)."""


@dataclass(frozen=True, slots=True)
class Clock:
    """The tick grid: warm-up from ``first_ns``, reported period from ``report_ns`` to ``end_ns``."""

    first_ns: int
    report_ns: int
    end_ns: int
    tick_ns: int

    @property
    def n(self) -> int:
        """Number of ticks."""
        return -(-(self.end_ns - self.first_ns) // self.tick_ns)

    @property
    def report_i(self) -> int:
        """Index of the first reported tick."""
        return -(-(self.report_ns - self.first_ns) // self.tick_ns)

    @property
    def dt_s(self) -> float:
        return self.tick_ns / NS

    def time(self, i: int) -> int:
        return self.first_ns + i * self.tick_ns

    def index(self, time_ns: int) -> int:
        """The first tick at or after ``time_ns`` (clamped to the grid)."""
        return max(0, min(self.n, -(-(time_ns - self.first_ns) // self.tick_ns)))


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occupied period: ticks ``[start_i, end_i)`` at ``target_c``; ``present`` unless a no-show."""

    start_i: int
    end_i: int
    start_ns: int
    target_c: float
    mode: Mode
    label: str
    present: bool


@dataclass(slots=True)
class ZoneWorld:
    """Everything the world does to one zone, tick by tick."""

    spec: ZoneSpec
    params: ZoneParams
    convector_eco_c: float
    convector_hors_gel_c: float
    mode: list[Mode] = field(default_factory=list)  # the schedule's mode
    target: list[float | None] = field(default_factory=list)  # that mode's target (a booking's setpoint)
    setpoint_booking: list[bool] = field(default_factory=list)  # a booking at a temperature is in force
    occurrence: list[int] = field(default_factory=list)  # index of the occurrence in force, or −1
    next_occurrence: list[int] = field(default_factory=list)  # index of the next one starting later, or −1
    occurrences: list[Occurrence] = field(default_factory=list)
    present: list[bool] = field(default_factory=list)
    gains_air: list[float] = field(default_factory=list)  # kW
    gains_rad: list[float] = field(default_factory=list)  # kW
    extra_h: list[float] = field(default_factory=list)  # kW/K (ventilation of the present, open windows)
    window_open: list[bool] = field(default_factory=list)
    aired: list[bool] = field(default_factory=list)  # a window open, or closed less than 30 min ago
    outage: list[bool] = field(default_factory=list)  # one of the zone's sensors is silenced
    noise: dict[str, list[float]] = field(default_factory=dict)  # per sensor (and "" for the programmer)

    @property
    def key(self) -> str:
        return self.spec.key


@dataclass(slots=True)
class World:
    """The shared world of one run."""

    clock: Clock
    tz: ZoneInfo
    outdoor: list[float]
    zones: list[ZoneWorld]
    bookings: tuple[Booking, ...]
    #: sensor -> silenced intervals (UTC ns)
    outages: dict[str, list[tuple[int, int]]]
    #: input id -> its edges (time_ns, active), sorted
    inputs: dict[str, list[tuple[int, bool]]]
    weather: dict[str, Any]

    def step(self, model: ZoneModel, zw: ZoneWorld, i: int, *, heater_kw: float) -> None:
        """Advance ``zw``'s model over tick ``i`` with the heater at ``heater_kw``, in this world's weather,
        gains and windows."""
        model.step(
            self.clock.dt_s,
            heater_kw=heater_kw,
            outdoor_c=self.outdoor[i],
            gains_air_kw=zw.gains_air[i],
            gains_rad_kw=zw.gains_rad[i],
            extra_h_ao=zw.extra_h[i],
        )


def local_ns(moment: datetime, tz: ZoneInfo) -> int:
    """A configured (local, naive) date-time in UTC ns."""
    return schedule.to_ns(moment.replace(tzinfo=tz) if moment.tzinfo is None else moment)


def _noise(seed: int, name: str, sigma: float, n: int) -> list[float]:
    rng = random.Random(f"{seed}:noise:{name}")  # noqa: S311 (reproducible sensor noise)
    return [rng.gauss(0.0, sigma) for _ in range(n)]


def _schedule(zw: ZoneWorld, clock: Clock, tz: ZoneInfo, bookings: Sequence[Booking]) -> None:
    """Fill mode/target/occupancy arrays from ``rules.schedule.evaluate``."""
    cfg = zw.spec.heating
    first = schedule.from_ns(clock.first_ns, tz).date() - timedelta(days=schedule.HORIZON_DAYS + 1)
    last = schedule.from_ns(clock.end_ns, tz).date() + timedelta(days=schedule.HORIZON_DAYS + 1)
    spans = schedule.intervals(cfg, tz, first, last)
    booked = schedule.booking_intervals(bookings, zw.key)
    bounds = {b for i in (*spans, *booked) for b in (i.start_ns, i.end_ns)}
    day = first
    while day <= last:
        bounds.add(schedule.local_ns(day, 0, tz))
        day += timedelta(days=1)
    edges = sorted(bounds)
    low, high = cfg.setpoint_bounds()
    occupied: list[bool] = []
    state = None
    for i in range(clock.n):
        t = clock.time(i)
        if state is None or bisect.bisect_right(edges, t) != bisect.bisect_right(edges, t - clock.tick_ns):
            state = schedule.evaluate(cfg, tz, zw.key, bookings, t)
        zw.mode.append(state.mode)
        occupied.append(state.occupied)
        if state.setpoint_c is not None and state.mode != "arret":
            zw.target.append(min(high, max(low, state.setpoint_c)))
            zw.setpoint_booking.append(True)
        else:
            zw.target.append(cfg.setpoints.of(state.mode))
            zw.setpoint_booking.append(False)
    _occurrences(zw, clock, occupied)


def _occurrences(zw: ZoneWorld, clock: Clock, occupied: list[bool]) -> None:
    zw.occurrence = [-1] * clock.n
    i = 0
    while i < clock.n:
        if not occupied[i]:
            i += 1
            continue
        start, target = i, zw.target[i]
        while i < clock.n and occupied[i] and zw.target[i] == target:
            zw.occurrence[i] = len(zw.occurrences)
            i += 1
        zw.occurrences.append(
            Occurrence(start, i, clock.time(start), float(target or 0.0), zw.mode[start], "", present=True)
        )
    zw.next_occurrence = [-1] * clock.n
    upcoming = -1
    starts = {o.start_i: k for k, o in enumerate(zw.occurrences)}
    for i in range(clock.n - 1, -1, -1):
        zw.next_occurrence[i] = upcoming
        if i in starts:
            upcoming = starts[i]


def _no_shows(zw: ZoneWorld, clock: Clock, seed: int, cfg_pct: float, explicit: list[tuple[int, int]]) -> None:
    """Mark occurrences nobody attends; ``explicit`` is [(index in the config, time_ns)]: one inside the run
    that no occupied period covers is an error (a typo in a date must not pass silently)."""
    absent: set[int] = set()
    for index, time_ns in explicit:
        if not clock.first_ns <= time_ns < clock.end_ns:
            continue  # outside this run
        k = next((k for k, o in enumerate(zw.occurrences) if o.start_ns <= time_ns < clock.time(o.end_i)), None)
        if k is None:
            raise SimulationError(f"simulation.no_shows[{index}]: no occupied period of {zw.key} covers that start")
        absent.add(k)
    for k, occ in enumerate(zw.occurrences):
        draw = random.Random(f"{seed}:no-show:{zw.key}:{occ.start_ns}").random()  # noqa: S311
        if draw * 100 < cfg_pct:
            absent.add(k)
    for k in absent:
        occ = zw.occurrences[k]
        zw.occurrences[k] = Occurrence(occ.start_i, occ.end_i, occ.start_ns, occ.target_c, occ.mode, occ.label, False)


def _gains(zw: ZoneWorld, clock: Clock, solar: dict[float, list[float]], windows: list[tuple[int, int, float]]) -> None:
    p = zw.params
    people_kw = p.people * p.person_w / 1000
    vent = p.people * p.vent_kw_per_k_per_person
    zw.present = [False] * clock.n
    for occ in zw.occurrences:
        if occ.present:
            for i in range(occ.start_i, occ.end_i):
                zw.present[i] = True
    n = clock.n
    sun = [0.0] * n
    for azimuth, area in p.apertures:
        series = solar[azimuth]
        for i in range(n):
            sun[i] += area * series[i] / 1000
    zw.window_open = [False] * n
    zw.aired = [False] * n
    extra = [0.0] * n
    for start, end, loss in windows:
        for i in range(clock.index(start), clock.index(end)):
            zw.window_open[i] = True
            extra[i] += loss
        for i in range(clock.index(start), clock.index(end + AIRING_RECOVERY_NS)):
            zw.aired[i] = True
    half = (people_kw + p.internal_kw) / 2
    zw.gains_air = [half if zw.present[i] else 0.0 for i in range(n)]
    zw.gains_rad = [sun[i] + (half if zw.present[i] else 0.0) for i in range(n)]
    zw.extra_h = [extra[i] + (vent if zw.present[i] else 0.0) for i in range(n)]


def _solar(sky: Sky, clock: Clock, azimuths: set[float]) -> dict[float, list[float]]:
    order = sorted(azimuths)
    out: dict[float, list[float]] = {a: [] for a in order}
    cache: dict[int, tuple[float, ...]] = {}
    for i in range(clock.n):
        bucket = clock.time(i) // SOLAR_STEP_NS
        values = cache.get(bucket)
        if values is None:
            values = cache[bucket] = sky.on_facades(bucket * SOLAR_STEP_NS + SOLAR_STEP_NS // 2, order)
        for azimuth, value in zip(order, values, strict=True):
            out[azimuth].append(value)
    return out


def _intervals_to_edges(intervals: list[tuple[int, int]]) -> list[tuple[int, bool]]:
    merged: list[list[int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [edge for start, end in merged for edge in ((start, True), (end, False))]


def _inputs(config: Any, zones: list[ZoneWorld], clock: Clock, seed: int) -> dict[str, list[tuple[int, bool]]]:
    """Presence detectors fire while people are there, window contacts follow the simulated windows,
    other contacts of a zone (doors) open for two minutes when people arrive."""
    specs = config.gpio.inputs
    dusk = {c.dusk_input for c in config.lighting.circuits.values() if c.dusk_input}
    window_contacts = {c: zw for zw in zones for c in zw.spec.heating.window.contacts}
    active: dict[str, list[tuple[int, int]]] = {name: [] for name, s in specs.items() if s.kind != "pulse"}
    for name, zw in window_contacts.items():
        if name in active:
            active[name].extend(_runs(zw.window_open, clock))
    for name, spec in specs.items():
        if spec.kind == "pulse" or name in window_contacts or name in dusk:
            continue
        for zw in zones:
            if spec.building != zw.spec.building or spec.zone not in (None, zw.spec.zone):
                continue
            for start, end in _runs(zw.present, clock):
                if spec.kind == "contact":
                    active[name].append((start, start + 120 * NS))
                else:
                    active[name].extend(_motion(seed, name, start, end))
    return {name: _intervals_to_edges(intervals) for name, intervals in active.items()}


def _runs(flags: list[bool], clock: Clock) -> list[tuple[int, int]]:
    runs, i = [], 0
    while i < len(flags):
        if flags[i]:
            start = i
            while i < len(flags) and flags[i]:
                i += 1
            runs.append((clock.time(start), clock.time(i)))
        else:
            i += 1
    return runs


def _motion(seed: int, name: str, start: int, end: int) -> list[tuple[int, int]]:
    """A retriggerable PIR (2 min hold) seeing movement every ~4 minutes on average while people are there."""
    rng = random.Random(f"{seed}:motion:{name}:{start}")  # noqa: S311
    out, t = [], start + int(rng.uniform(0, 60) * NS)
    while t < end:
        out.append((t, min(end, t + 120 * NS)))
        t += int(rng.expovariate(1 / 240) * NS) + NS
    return out


def build(config: Any, site: Any, *, days: float, start: date, warmup_days: float) -> World:
    """The world of one run: ``warmup_days`` before local midnight of ``start``, then ``days`` reported."""
    sim = config.simulation
    tz = ZoneInfo(site.timezone)
    report_ns = schedule.local_ns(start, 0, tz)
    tick_ns = int(sim.tick_s * NS)
    clock = Clock(
        report_ns - int(warmup_days * 24 * HOUR_NS) // tick_ns * tick_ns,
        report_ns,
        report_ns + int(days * 24 * HOUR_NS),
        tick_ns,
    )
    offset_h = (datetime.combine(start, datetime.min.time(), tz).utcoffset() or timedelta()).total_seconds() / 3600
    figures = sim.outdoor.figures()
    weather = Weather(
        seed=sim.seed,
        mean_c=figures.mean_c,
        daily_swing_c=figures.daily_swing_c,
        day_to_day_c=figures.day_to_day_c,
        utc_offset_h=offset_h,
        offsets=tuple(
            Offset(local_ns(o.start, tz), local_ns(o.start, tz) + int(o.hours * HOUR_NS), o.delta_c)
            for o in sim.outdoor_offsets
        ),
    )
    outdoor = [weather.temperature_c(clock.time(i)) for i in range(clock.n)]
    sky = Sky(site.latitude, site.longitude, seed=sim.seed, cloud_cover=figures.cloud_cover, utc_offset_h=offset_h)
    bookings = tuple(
        Booking(b.zone, local_ns(b.start, tz), local_ns(b.end, tz), b.mode, b.label, b.setpoint_c)
        for b in sim.bookings
    )
    outages: dict[str, list[tuple[int, int]]] = {}
    for o in sim.outages:
        outages.setdefault(o.sensor, []).append((local_ns(o.start, tz), local_ns(o.start, tz) + int(o.hours * HOUR_NS)))
    zones = [_zone(config, spec, clock=clock, tz=tz, bookings=bookings, outages=outages) for spec in site.zones]
    solar = _solar(sky, clock, {a for zw in zones for a, _ in zw.params.apertures})
    for zw in zones:
        windows = [
            (local_ns(w.start, tz), local_ns(w.start, tz) + int(w.minutes * 60 * NS), w.extra_loss_kw_per_k)
            for w in sim.windows
            if w.zone == zw.key
        ]
        _gains(zw, clock, solar, [(s, e, zw.params.window_loss_kw_per_k if x is None else x) for s, e, x in windows])
    report = outdoor[clock.report_i :]
    return World(
        clock,
        tz,
        outdoor,
        zones,
        bookings,
        outages,
        _inputs(config, zones, clock, sim.seed),
        {
            "preset": sim.outdoor.preset,
            "mean_outdoor_c": round(sum(report) / len(report), 2) if report else None,
            "min_outdoor_c": round(min(report), 2) if report else None,
            "max_outdoor_c": round(max(report), 2) if report else None,
            "cloud_cover": figures.cloud_cover,
        },
    )


def _zone(
    config: Any,
    spec: ZoneSpec,
    *,
    clock: Clock,
    tz: ZoneInfo,
    bookings: tuple[Booking, ...],
    outages: dict[str, list[tuple[int, int]]],
) -> ZoneWorld:
    sim = config.simulation
    cfg = sim.zones.get(spec.key)
    if cfg is None:
        raise SimulationError(f'zone {spec.key!r} is heated but has no [simulation.zones."{spec.key}"] table')
    params = cfg.params(design_outdoor_c=sim.design_outdoor_c)
    heating = spec.heating
    eco = cfg.convector_eco_c if cfg.convector_eco_c is not None else heating.setpoints.reduit
    zw = ZoneWorld(spec, params, eco, cfg.convector_hors_gel_c)
    _schedule(zw, clock, tz, bookings)
    explicit = [(k, local_ns(ns.start, tz)) for k, ns in enumerate(sim.no_shows) if ns.zone == spec.key]
    _no_shows(zw, clock, sim.seed, cfg.no_show_pct, explicit)
    for sensor in heating.sensors:
        zw.noise[sensor] = _noise(sim.seed, sensor, params.sensor_noise_c, clock.n)
    zw.noise[""] = zw.noise[heating.sensors[0]] if heating.sensors else _noise(sim.seed, spec.key, 0.0, clock.n)
    silent = [iv for s in heating.sensors for iv in outages.get(s, [])]
    zw.outage = [any(a <= clock.time(i) < b for a, b in silent) for i in range(clock.n)]
    return zw
