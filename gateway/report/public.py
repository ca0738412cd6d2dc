"""What the public page shows: the public buildings' energy this week and this winter against last year.

Rules of this module:
- only buildings marked ``public = true`` appear; a zone's name only if the zone is marked public
  too; a façade or street circuit only if its relay belongs to a public building. Nothing else leaves
  this module: no device id, no schedule, no booking, no person;
- "this week" is the last seven complete days against the same weekdays 52 weeks earlier; "this
  winter" runs from the 1st of ``[report] heating_season_start_month`` to yesterday (from June to the
  season's start: the last whole winter, October to May) against the same dates a year earlier;
  both compared at equal climate (:mod:`gateway.report.compare`);
- façades: hours lit and hours of darkness (sunset to sunrise, :func:`rules.lighting.dusk_to_dawn_hours`)
  per night over the week; the difference is the lighting the night cut avoided;
- :class:`PublicPage` keeps the computed view for :data:`TTL_S` seconds (the figures change once a
  day; the page may be asked often): a phone on a village's connection gets a cached page.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from gateway.report import signature as sg
from gateway.report.compare import MIN_COVERAGE, compare_building
from gateway.report.daily import DailyFigures
from gateway.report.meters import year_ago_date
from gateway.report.refresh import Refreshing

#: How long a computed view is served before it is computed again (seconds).
TTL_S = 600.0


@dataclass(frozen=True, slots=True)
class Figure:
    """Energy over a period, the reference's, and the saving at equal climate (percent)."""

    kwh: float | None
    reference_kwh: float | None
    saving_pct: float | None


@dataclass(frozen=True, slots=True)
class PublicZone:
    name: str
    heater_hours: float | None
    avoided_hours: float | None


@dataclass(frozen=True, slots=True)
class PublicFacade:
    name: str
    lit_per_night: float | None
    dark_per_night: float | None

    @property
    def avoided_per_night(self) -> float | None:
        if self.lit_per_night is None or self.dark_per_night is None:
            return None
        return max(0.0, self.dark_per_night - self.lit_per_night)


@dataclass(frozen=True, slots=True)
class PublicBuilding:
    building: str
    name: str
    week: Figure
    winter: Figure
    heater_hours_avoided: float | None
    water_week_m3: float | None
    zones: tuple[PublicZone, ...]
    facades: tuple[PublicFacade, ...]


@dataclass(frozen=True, slots=True)
class PublicView:
    """Everything on the public page (aggregates only)."""

    site_name: str
    updated: datetime
    week: tuple[date, date]
    winter: tuple[date, date]
    winter_reference: tuple[date, date]
    week_colder: bool | None  # this week colder than the reference week (None: unknown)
    winter_colder: bool | None
    buildings: tuple[PublicBuilding, ...]


def periods(today: date, season_start_month: int) -> tuple[tuple[date, date], tuple[date, date]]:
    """(this week, this winter) as inclusive local days, both ending yesterday at the latest."""
    yesterday = today - timedelta(days=1)
    week = (yesterday - timedelta(days=6), yesterday)
    start = date(today.year, season_start_month, 1)
    if start > yesterday:
        start = date(today.year - 1, season_start_month, 1)
    season_end = date(start.year + (1 if season_start_month > 5 else 0), 5, 31)
    end = min(yesterday, season_end)  # in summer: the last whole winter
    return week, (start, max(start, end))


def comparable_start(figures: DailyFigures, first: date, last: date) -> date:
    """``first``, or later when the archive begins inside the reference year: the day after the first
    archived day a year on (its first day is partial), so that both winters cover the same dates."""
    ref = figures.degree_days(year_ago_date(first), year_ago_date(last))
    if not ref or min(ref) <= year_ago_date(first):
        return first
    start = min(ref) + timedelta(days=1)
    try:
        moved = start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        moved = start.replace(year=start.year + 1, day=28)
    return min(max(first, moved), last)


def _figure(b: Any) -> Figure:
    return Figure(b.current.energy_kwh, b.reference.energy_kwh, b.saving_pct)


def _zone(figures: DailyFigures, building: str, zone_id: str, name: str, *, first: date, last: date) -> PublicZone:
    """A public zone's heater hours this winter and the hours avoided at equal climate."""
    key = f"{building}/{zone_id}"
    ref_first, ref_last = year_ago_date(first), year_ago_date(last)
    dju = {d: v.value for d, v in figures.degree_days(ref_first, last).items()}

    def period(a: date, b: date) -> tuple[sg.Period, list[tuple[date, float, float]]]:
        hours = figures.zone_heater_hours(key, a, b)
        points = [(d, dju[d], h) for d, h in hours.items() if d in dju]
        return sg.Period(sum(hours.values()), len(hours), sum(dju.get(d, 0.0) for d in hours), len(points)), points

    cur, cur_points = period(first, last)
    ref, ref_points = period(ref_first, ref_last)
    slope = sg.choose_slope(sg.fit(cur_points), sg.fit(ref_points))
    days = (last - first).days + 1
    covered = min(cur.energy_days, cur.dju_days, ref.energy_days, ref.dju_days) >= MIN_COVERAGE * days
    avoided = None
    if slope is not None and ref.rate is not None and covered:
        rate = sg.normalised_rate(cur, ref, slope[0])
        avoided = (ref.rate - rate) * cur.energy_days if rate is not None else None
    return PublicZone(name, cur.energy if cur.energy_days else None, avoided)


def _facades(figures: DailyFigures, building: str, first: date, last: date) -> tuple[PublicFacade, ...]:
    config = figures.config
    out = []
    for circuit in config.lighting.circuits.values():
        relay = config.gpio.relays.get(circuit.relay)
        if circuit.kind not in {"facade", "street"} or relay is None or relay.building != building:
            continue
        # the astronomical clock (rules.lighting, astral) only for a village with façade lighting
        from rules.lighting import dusk_to_dawn_hours

        lit = figures.lit_hours(circuit.relay, first, last)
        nights = (last - first).days + 1
        site = config.site
        dark = dusk_to_dawn_hours(site.latitude, site.longitude, site.timezone, first, nights) / nights
        out.append(PublicFacade(circuit.name or circuit.relay, sum(lit.values()) / len(lit) if lit else None, dark))
    return tuple(out)


def public_view(figures: DailyFigures, now: datetime) -> PublicView:
    """The public page's figures at ``now``."""
    config = figures.config
    today = now.astimezone(figures.tz).date()
    week, winter = periods(today, config.report.heating_season_start_month)
    week_ref = (week[0] - timedelta(weeks=52), week[1] - timedelta(weeks=52))
    winter = (comparable_start(figures, *winter), winter[1])
    winter_ref = (year_ago_date(winter[0]), year_ago_date(winter[1]))
    buildings = []
    for bid, building in config.buildings.items():
        if not building.public:
            continue
        this_week = compare_building(figures, bid, first=week[0], last=week[1], ref_first=week_ref[0],
                                     ref_last=week_ref[1])
        this_winter = compare_building(figures, bid, first=winter[0], last=winter[1], ref_first=winter_ref[0],
                                       ref_last=winter_ref[1])
        zones = tuple(
            _zone(figures, bid, zid, zone.name, first=winter[0], last=winter[1])
            for zid, zone in building.zones.items()
            if zone.public and zone.heating is not None
        )
        buildings.append(PublicBuilding(
            building=bid,
            name=building.name,
            week=_figure(this_week),
            winter=_figure(this_winter),
            heater_hours_avoided=this_winter.heater_hours_avoided,
            water_week_m3=this_week.current.water_m3,
            zones=zones,
            facades=_facades(figures, bid, week[0], week[1]),
        ))
    return PublicView(
        site_name=config.site.name,
        updated=now,
        week=week,
        winter=winter,
        winter_reference=winter_ref,
        week_colder=_colder(figures, week, week_ref),
        winter_colder=_colder(figures, winter, winter_ref),
        buildings=tuple(buildings),
    )


def _colder(figures: DailyFigures, period: tuple[date, date], reference: tuple[date, date]) -> bool | None:
    cur = figures.degree_days(*period)
    ref = figures.degree_days(*reference)
    if not cur or not ref:
        return None
    return sum(v.value for v in cur.values()) / len(cur) > sum(v.value for v in ref.values()) / len(ref)


class PublicPage(Refreshing[PublicView]):
    """The public view, recomputed at most every :data:`TTL_S` seconds in the background
    (:class:`gateway.report.refresh.Refreshing`): a visitor never waits for a computation once the
    first view exists (:meth:`warm` computes it at start)."""

    def __init__(self, figures: DailyFigures, *, now: Any, ttl_s: float = TTL_S,
                 monotonic: Any = time.monotonic) -> None:
        self.figures = figures
        super().__init__(lambda: public_view(figures, now()), ttl_s=ttl_s, name="public-page", monotonic=monotonic)

    def view(self) -> PublicView:
        return self.get()
