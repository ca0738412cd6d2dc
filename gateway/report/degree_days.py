"""Heating degree-days (DJU, *degrés-jours unifiés*) from hourly outdoor temperatures. Pure.

The two French methods, base ``S`` (18 °C by default), from the day's minimum ``Tn`` and maximum ``Tx``:

* **Météo-France**: ``DJU = max(0, S − (Tn + Tx) / 2)``;
* **COSTIC** (heating engineers and energy managers): if ``S ≥ Tx``: ``DJU = S − (Tn + Tx) / 2``; if
  ``S ≤ Tn``: ``DJU = 0``; otherwise ``DJU = (S − Tn) × (0.08 + 0.42 × (S − Tn) / (Tx − Tn))`` — it
  keeps the heating of cool mornings on mild days that the mean method counts as zero.

**The day** is Météo-France's climatological day, as for published DJU: ``Tn`` of day D is the lowest
temperature from 18:00 UTC on D−1 to 18:00 UTC on D (the night before), ``Tx`` the highest from 06:00
UTC on D to 06:00 UTC on D+1. The archive keeps each hour's minimum and maximum of every reading, so
``Tn``/``Tx`` are the extremes of the readings, not of hourly means.

**Gaps**: a day is measured when each of its two 24-hour windows has at least :data:`MIN_HOURS`
archived hours (an extreme is missed only if the gap falls on it). Otherwise, in this order: a station's
value for that day (:mod:`gateway.report.station_csv`), a straight line between the nearest measured
days when at most :data:`FILL_DAYS` days are missing in a row (weather changes slowly), else no value:
the day is left out of degree-day totals, which then say how many days they cover.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

Method = Literal["costic", "meteo"]
Source = Literal["sensor", "station", "interpolated"]

NS = 1_000_000_000
HOUR_NS = 3600 * NS
#: Archived hours each 24-hour window (of the minimum, of the maximum) needs for a measured day.
MIN_HOURS = 20
#: At most this many missing days in a row are interpolated between measured neighbours.
FILL_DAYS = 2


def meteo(tmin: float, tmax: float, base: float = 18.0) -> float:
    """Météo-France degree-days of one day: ``max(0, base − (Tn + Tx) / 2)``."""
    return max(0.0, base - (tmin + tmax) / 2)


def costic(tmin: float, tmax: float, base: float = 18.0) -> float:
    """COSTIC degree-days of one day (see the module's formula)."""
    if tmax < tmin:
        tmin, tmax = tmax, tmin
    if base >= tmax:
        return base - (tmin + tmax) / 2
    if base <= tmin:
        return 0.0
    return (base - tmin) * (0.08 + 0.42 * (base - tmin) / (tmax - tmin))


def day_value(tmin: float, tmax: float, *, method: Method = "costic", base: float = 18.0) -> float:
    """One day's degree-days by ``method``."""
    return costic(tmin, tmax, base) if method == "costic" else meteo(tmin, tmax, base)


@dataclass(frozen=True, slots=True)
class DayExtremes:
    """A climatological day's minimum and maximum, and how many archived hours each window had."""

    day: date
    tmin_c: float | None
    tmax_c: float | None
    min_hours: int
    max_hours: int

    @property
    def measured(self) -> bool:
        return (
            self.tmin_c is not None
            and self.tmax_c is not None
            and self.min_hours >= MIN_HOURS
            and self.max_hours >= MIN_HOURS
        )


@dataclass(frozen=True, slots=True)
class DegreeDay:
    """One day's degree-days and where the value comes from."""

    value: float
    source: Source


def _utc(day: date, hour: int) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * NS + hour * HOUR_NS


def window(first: date, last: date) -> tuple[int, int]:
    """The hours (UTC ns, ``[start, end)``) whose temperatures the days ``first..last`` need."""
    return _utc(first, -6), _utc(last, 30)


def daily_extremes(hourly: Iterable[tuple[int, float, float, float]], first: date, last: date) -> list[DayExtremes]:
    """Each climatological day's ``Tn`` and ``Tx`` from ``(hour_start_ns, mean, min, max)`` rows."""
    lows: dict[date, list[float]] = {}
    highs: dict[date, list[float]] = {}
    for hour_ns, _mean, low, high in hourly:
        moment = datetime.fromtimestamp(hour_ns // NS, UTC)
        # the minimum's window [D−1 18:00, D 18:00) belongs to D = the date six hours later
        lows.setdefault((moment + timedelta(hours=6)).date(), []).append(low)
        # the maximum's window [D 06:00, D+1 06:00) belongs to D = the date six hours earlier
        highs.setdefault((moment - timedelta(hours=6)).date(), []).append(high)
    out = []
    day = first
    while day <= last:
        lo, hi = lows.get(day, []), highs.get(day, [])
        out.append(DayExtremes(day, min(lo) if lo else None, max(hi) if hi else None, len(lo), len(hi)))
        day += timedelta(days=1)
    return out


def degree_days(
    extremes: Iterable[DayExtremes],
    *,
    method: Method = "costic",
    base: float = 18.0,
    station: Mapping[date, float] | None = None,
) -> dict[date, DegreeDay]:
    """Degree-days per day: measured, else the station's, else interpolated over short gaps."""
    station = station or {}
    days = list(extremes)
    out: dict[date, DegreeDay] = {}
    for ext in days:
        if ext.measured and ext.tmin_c is not None and ext.tmax_c is not None:
            out[ext.day] = DegreeDay(round(day_value(ext.tmin_c, ext.tmax_c, method=method, base=base), 3), "sensor")
        elif ext.day in station:
            out[ext.day] = DegreeDay(float(station[ext.day]), "station")
    missing = [e.day for e in days if e.day not in out]
    for run in _runs(missing):
        before, after = run[0] - timedelta(days=1), run[-1] + timedelta(days=1)
        if len(run) > FILL_DAYS or before not in out or after not in out:
            continue
        a, b = out[before].value, out[after].value
        for i, day in enumerate(run, start=1):
            out[day] = DegreeDay(round(a + (b - a) * i / (len(run) + 1), 3), "interpolated")
    return dict(sorted(out.items()))


def _runs(days: list[date]) -> list[list[date]]:
    """Consecutive days grouped into runs."""
    runs: list[list[date]] = []
    for day in days:
        if runs and runs[-1][-1] + timedelta(days=1) == day:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs
