"""Outdoor temperature of a winter week in the French countryside, deterministic from a seed.

Rules of this module: a pure function of (time, seed, parameters); no clock, no I/O. The profile is
a daily cosine (coldest around 06:00 local solar time, warmest around 15:00) around a mean that
drifts from day to day (a seeded random walk, interpolated so there are no steps at midnight),
plus configured offsets (a cold snap: ``delta_c`` for ``hours`` from ``start``).

Defaults follow Météo-France normals for January in the Loire valley (Tours 1991–2020: mean
minimum about 1.5 °C, mean maximum about 8 °C). :data:`PRESETS` name the weeks the benchmarks use:

* ``january``: those normals (mean 4.5 °C, swing 6.5 °C), a mostly overcast sky (mean cloud 0.7;
  Tours has about 70 h of sunshine in January, a quarter of the possible hours);
* ``cold``: a cold spell (mean −3 °C, swing 9 °C: nights about −7.5 °C, afternoons about +1.5 °C,
  day-to-day drift 1.5 °C), clearer anticyclonic sky (mean cloud 0.4) — every night below −5 °C on
  average, as in the cold waves of February 2012 or January 1987 in the Loire valley;
* ``mild``: a mild late-autumn or early-spring week (mean 9 °C, swing 7 °C, cloud 0.75).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

NS = 1_000_000_000
DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class Preset:
    """A named outdoor profile: temperatures (°C) and the mean daily cloud fraction (0–1)."""

    mean_c: float
    daily_swing_c: float
    day_to_day_c: float
    cloud_cover: float


PRESETS: dict[str, Preset] = {
    "january": Preset(4.5, 6.5, 2.0, 0.7),
    "cold": Preset(-3.0, 9.0, 1.5, 0.4),
    "mild": Preset(9.0, 7.0, 2.0, 0.75),
}


@dataclass(frozen=True, slots=True)
class Offset:
    """A temporary shift of the outdoor temperature (UTC ns)."""

    start_ns: int
    end_ns: int
    delta_c: float


@dataclass(frozen=True, slots=True)
class Weather:
    """Outdoor temperature model. ``utc_offset_h`` places the daily cycle in local solar time."""

    seed: int = 1
    mean_c: float = 4.5
    daily_swing_c: float = 6.5  # peak to peak
    day_to_day_c: float = 2.0  # standard deviation of the daily mean's random walk step
    utc_offset_h: float = 1.0
    offsets: Sequence[Offset] = field(default_factory=tuple)

    def _daily_mean(self, day: int) -> float:
        # a bounded random walk, reproducible for any day without computing the days before
        rng = random.Random(self.seed * 1_000_003 + day)  # noqa: S311 (a simulation, not cryptography)
        rng2 = random.Random(self.seed * 1_000_003 + day - 1)  # noqa: S311
        return self.mean_c + 0.6 * rng.gauss(0, self.day_to_day_c) + 0.4 * rng2.gauss(0, self.day_to_day_c)

    def temperature_c(self, time_ns: int) -> float:
        """The outdoor temperature at ``time_ns`` (°C)."""
        local_s = time_ns / NS + self.utc_offset_h * 3600
        day, second = divmod(local_s, DAY_S)
        frac = second / DAY_S
        mean = (1 - frac) * self._daily_mean(int(day)) + frac * self._daily_mean(int(day) + 1)
        hour = second / 3600
        value = mean + self.daily_swing_c / 2 * math.cos(2 * math.pi * (hour - 15) / 24)
        for offset in self.offsets:
            if offset.start_ns <= time_ns < offset.end_ns:
                value += offset.delta_c
        return value
