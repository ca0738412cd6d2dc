"""What each gateway uploads for the intercommunality: a daily summary per building and a health point.

Both are ordinary readings: the daemon publishes them through the core, so the journal keeps them and
every sink delivers them like any meter reading (nothing lost while a line is down, resent points
overwrite). Measurements (docs/upload.md lists every field):

* ``energy_daily`` (tags ``site``, ``building``; time: the local day's midnight): ``energy_kwh``,
  ``water_m3``, ``dju``, ``kwh_per_dju`` (days with at least 1 DJU), ``heater_h`` (hours of heater
  running), ``expected_kwh`` (the building's signature fitted on the 12 weeks before the last seven
  days, at the day's DJU), ``drift_pct`` (the last seven days ending that day against that signature,
  in percent: a heater stuck on, a setback that stopped working, a meter counting for a leak; a week
  because a village building's use repeats weekly and single days do not follow a weekly signature),
  ``normalised_kwh`` (the day's energy at the climate of the same date
  a year earlier, along the same signature: summed over a month it compares with last year's month);
* ``gateway_health`` (tag ``site``; every ``[report] health_interval_s``): ``version``, ``uptime_s``,
  ``sink_backlog`` (the largest backlog of the gateway's sinks, points), ``alarms`` (active alarms),
  ``devices_unavailable``, ``newest_reading_age_s`` (age of the newest measurement, of any device),
  ``clock_trusted``.

Rules of this module: pure builders over :class:`gateway.report.daily.DailyFigures` and plain values;
numbers are always floats (or always ints) per field, so a server never sees a field change type.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from gateway.model import Reading
from gateway.report import signature as sg
from gateway.report.compare import FIT_WEEKS
from gateway.report.daily import DailyFigures
from gateway.report.meters import year_ago_date

NS = 1_000_000_000
DAILY = "energy_daily"
HEALTH = "gateway_health"
#: The drift compares this many days (a week: the rhythm a village building's use repeats on).
DRIFT_DAYS = 7
#: Measurements the gateway makes about itself (not a device's reading: left out of "newest reading").
OWN_MEASUREMENTS = frozenset({DAILY, HEALTH})


def health_reading(
    *,
    site: str,
    time_ns: int,
    version: str,
    uptime_s: float,
    sink_backlog: int,
    alarms: int | None,
    devices_unavailable: int,
    newest_reading_age_s: float | None,
    clock_trusted: bool | None,
) -> Reading:
    """One ``gateway_health`` point."""
    return Reading.make(
        HEALTH,
        {"site": site},
        {
            "version": version,
            "uptime_s": round(float(uptime_s), 1),
            "sink_backlog": int(sink_backlog),
            "alarms": None if alarms is None else int(alarms),
            "devices_unavailable": int(devices_unavailable),
            "newest_reading_age_s": None if newest_reading_age_s is None else round(float(newest_reading_age_s), 1),
            "clock_trusted": clock_trusted,
        },
        time_ns=time_ns,
    )


def newest_reading_age_s(snapshot: Any, now_ns: int) -> float | None:
    """Seconds since the newest measurement of any device (the gateway's own points left out)."""
    times = [s.time_ns for s in snapshot.samples.values() if s.measurement not in OWN_MEASUREMENTS]
    return max(0.0, (now_ns - max(times)) / NS) if times else None


def _midnight_ns(figures: DailyFigures, day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=figures.tz).timestamp()) * NS


def daily_readings(figures: DailyFigures, first: date, last: date) -> list[Reading]:
    """The ``energy_daily`` points of every building for the local days ``first..last``."""
    site = figures.config.site.id
    since = first - timedelta(weeks=FIT_WEEKS, days=DRIFT_DAYS)
    dju = {d: v.value for d, v in figures.degree_days(year_ago_date(since), last).items()}
    out: list[Reading] = []
    for building in figures.config.buildings:
        energy = figures.energy(building, since, last)
        water = figures.water(building, first, last)
        hours = figures.heater_hours(building, first, last)
        day = first
        while day <= last:
            out.extend(_day(figures, site, building, day, energy, water, hours, dju))
            day += timedelta(days=1)
    return out


def _day(  # noqa: PLR0917 - one day's arithmetic over the building's series
    figures: DailyFigures,
    site: str,
    building: str,
    day: date,
    energy: dict[date, float],
    water: dict[date, float],
    hours: dict[date, float],
    dju: dict[date, float],
) -> list[Reading]:
    kwh = energy.get(day)
    if kwh is None and day not in water:
        return []
    fields: dict[str, float | None] = {
        "energy_kwh": None if kwh is None else round(kwh, 3),
        "water_m3": None if day not in water else round(water[day], 4),
        "heater_h": None if day not in hours else round(hours[day], 2),
        "dju": None if day not in dju else round(dju[day], 2),
    }
    if kwh is not None and day in dju:
        if dju[day] >= 1.0:
            fields["kwh_per_dju"] = round(kwh / dju[day], 3)
        week = [d for d in _days(day - timedelta(days=DRIFT_DAYS - 1), day) if d in energy and d in dju]
        before = day - timedelta(days=DRIFT_DAYS)
        window = [(d, dju[d], energy[d]) for d in _days(before - timedelta(weeks=FIT_WEEKS) + timedelta(days=1), before)
                  if d in energy and d in dju]
        signature = sg.fit(window)
        if signature is not None:
            fields["expected_kwh"] = round(signature.expected(dju[day]), 3)
            expected = sum(signature.expected(dju[d]) for d in week)
            if expected > 0 and len(week) == DRIFT_DAYS:
                fields["drift_pct"] = round(100.0 * (sum(energy[d] for d in week) - expected) / expected, 2)
            last_year = dju.get(year_ago_date(day))
            if last_year is not None:
                fields["normalised_kwh"] = round(max(0.0, kwh + signature.slope * (last_year - dju[day])), 3)
    return [Reading.make(DAILY, {"site": site, "building": building}, fields, time_ns=_midnight_ns(figures, day))]


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
