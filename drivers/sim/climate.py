"""A seasonal outdoor climate for the Loire valley, day by day and hour by hour, deterministic from a seed.

Rules of this module: pure functions of (date or time, seed, parameters); no clock, no I/O. Any day can
be computed without the days before it (the weather's memory is a moving sum of seeded daily draws),
so a history of any length, starting anywhere, is reproducible.

The model:

* **normals**: monthly mean daily minimum and maximum of Tours (Indre-et-Loire), approximations of
  Météo-France's 1991–2020 normals for the Tours–Parçay-Meslay station (37179001), rounded to
  0.1 °C (:data:`LOIRE_NORMALS`); between mid-months they are interpolated linearly, so the seasons
  turn smoothly. A normal year gives about 2,300 degree-days (COSTIC, base 18 °C) and a January
  about 390, as the reference figures for Tours say (docs/reporting.md);
* **day-to-day variation**: the daily mean departs from the normal by an anomaly with the
  persistence of real weather (an AR(1) process with lag-one correlation :attr:`Climate.persistence`,
  written as a truncated moving sum of seeded draws), larger in winter (standard deviation about
  3 °C) than in summer (about 2 °C); the daily range (max − min) varies between cloudy and clear days
  (60 % to 140 % of the normal range, independent of the anomaly);
* **the hour**: a cosine from the day's minimum at 06:00 local solar time to its maximum at 15:00,
  then down to the next day's minimum, as heating engineers' hourly reconstructions do; solar time is
  UTC plus longitude / 15 hours.

Example::

    climate = Climate(seed=7)
    climate.day(date(2026, 1, 15))          # DayWeather(tmin_c=..., tmax_c=...)
    climate.temperature_c(time_ns)          # the hourly curve through those extremes
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

NS = 1_000_000_000
_EPOCH = date(2000, 1, 1)

#: Month -> (mean daily minimum, mean daily maximum) °C: Tours, approximations of the 1991–2020 normals.
LOIRE_NORMALS: dict[int, tuple[float, float]] = {
    1: (2.0, 8.5),
    2: (1.9, 9.9),
    3: (3.7, 13.6),
    4: (5.6, 16.8),
    5: (9.2, 20.5),
    6: (12.4, 24.1),
    7: (14.3, 26.5),
    8: (14.1, 26.4),
    9: (11.1, 22.6),
    10: (8.6, 17.6),
    11: (4.7, 11.9),
    12: (2.5, 8.8),
}

#: Hours (local solar time) of the daily minimum and maximum.
MIN_HOUR = 6.0
MAX_HOUR = 15.0


@dataclass(frozen=True, slots=True)
class DayWeather:
    """One day's minimum and maximum outdoor temperature (°C)."""

    tmin_c: float
    tmax_c: float


@dataclass(frozen=True, slots=True)
class Climate:
    """Seasonal outdoor temperatures around monthly normals, with persistent day-to-day anomalies."""

    seed: int = 1
    normals: dict[int, tuple[float, float]] = field(default_factory=lambda: dict(LOIRE_NORMALS))
    persistence: float = 0.7  # lag-one correlation of the daily mean's anomaly
    winter_sd_c: float = 3.0  # standard deviation of the anomaly in January
    summer_sd_c: float = 2.0  # ... and in July
    longitude: float = 0.7  # degrees east: solar time = UTC + longitude / 15 h
    memory_days: int = 24  # terms of the moving sum (persistence ** 24 < 0.0002)
    _cache: dict[tuple[int, int], float] = field(default_factory=dict, compare=False, repr=False)
    _days: dict[date, DayWeather] = field(default_factory=dict, compare=False, repr=False)

    # ---- days ------------------------------------------------------------------------------------
    def normal(self, day: date) -> tuple[float, float]:
        """The normal (minimum, maximum) of ``day``, interpolated between mid-months."""
        mid = date(day.year, day.month, 15)
        other = _add_months(mid, 1 if day >= mid else -1)
        span = abs((other - mid).days)
        weight = abs((day - mid).days) / span
        low0, high0 = self.normals[mid.month]
        low1, high1 = self.normals[other.month]
        return low0 + (low1 - low0) * weight, high0 + (high1 - high0) * weight

    def _draw(self, index: int, salt: int) -> float:
        key = (index, salt)
        value = self._cache.get(key)
        if value is None:
            if len(self._cache) > 100_000:
                self._cache.clear()
            rng = random.Random(self.seed * 1_000_003 + index * 7 + salt)  # noqa: S311 - a simulation
            value = self._cache[key] = rng.gauss(0.0, 1.0)
        return value

    def anomaly(self, day: date) -> float:
        """The daily mean's departure from the normal (°C): AR(1), unit variance scaled by the season."""
        index = (day - _EPOCH).days
        phi = self.persistence
        scale = math.sqrt(1 - phi * phi)  # so that the stationary variance is 1
        value = sum(phi**k * self._draw(index - k, 0) for k in range(self.memory_days)) * scale
        season = (1 + math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365.25)) / 2  # 1 in mid-January
        return value * (self.summer_sd_c + (self.winter_sd_c - self.summer_sd_c) * season)

    def day(self, day: date) -> DayWeather:
        """The day's minimum and maximum."""
        known = self._days.get(day)
        if known is not None:
            return known
        if len(self._days) > 10_000:
            self._days.clear()
        low, high = self.normal(day)
        mean = (low + high) / 2 + self.anomaly(day)
        index = (day - _EPOCH).days
        spread = (high - low) * (1.0 + 0.4 * max(-1.0, min(1.0, self._draw(index, 1) / 1.5)))
        weather = self._days[day] = DayWeather(round(mean - spread / 2, 2), round(mean + spread / 2, 2))
        return weather

    # ---- hours -----------------------------------------------------------------------------------
    def temperature_c(self, time_ns: int) -> float:
        """The outdoor temperature at ``time_ns``: through the day's minimum at 06:00 and maximum at
        15:00 solar time, cosine-shaped in between."""
        solar = datetime.fromtimestamp(time_ns / NS, UTC) + timedelta(hours=self.longitude / 15)
        today = solar.date()
        hour = solar.hour + solar.minute / 60 + solar.second / 3600
        if hour < MIN_HOUR:  # from yesterday's maximum down to today's minimum
            start, end = self.day(today - timedelta(days=1)).tmax_c, self.day(today).tmin_c
            frac = (hour + 24 - MAX_HOUR) / (24 - MAX_HOUR + MIN_HOUR)
        elif hour < MAX_HOUR:  # rising to today's maximum
            start, end = self.day(today).tmin_c, self.day(today).tmax_c
            frac = (hour - MIN_HOUR) / (MAX_HOUR - MIN_HOUR)
        else:  # falling to tomorrow's minimum
            start, end = self.day(today).tmax_c, self.day(today + timedelta(days=1)).tmin_c
            frac = (hour - MAX_HOUR) / (24 - MAX_HOUR + MIN_HOUR)
        return start + (end - start) * (1 - math.cos(math.pi * frac)) / 2


def _add_months(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(day.day, 28))
