"""Energy signature, climate normalisation and saving against a reference period. Pure arithmetic.

**Signature**: a building's daily energy is close to a straight line in the day's degree-days,
``kWh/day = base + slope × DJU/day``: ``base`` is what it uses without heating (lighting, IT, hot water,
standby), ``slope`` the kWh each degree-day costs (its envelope, ventilation and heating system). It
is fitted by least squares on weekly averages (kWh/day against DJU/day of each week with at least
:data:`MIN_WEEK_DAYS` days), which smooths the weekly occupancy pattern, or on days when the period
has fewer than :data:`MIN_WEEKS` such weeks. A fit needs :data:`MIN_POINTS` points and some spread in
degree-days; a negative slope (no heating signal) is set to zero, the base being then the mean.

**Normalisation** (the current period at the reference period's climate): with per-day rates
``e = kWh / days measured`` and ``d = DJU / days with DJU``, the current consumption at the reference
climate is ``e_norm = e_cur + slope × (d_ref − d_cur)`` — the current rate slid along the signature
to the reference's degree-days, i.e. the heating part scaled to the reference climate and the rest
unchanged. The slope is the current period's own when its fit is reliable (:data:`RELIABLE_R2`, at
least :data:`MIN_POINTS` points), the building as it is now; else the reference's.

**Saving** ``= 1 − e_norm / e_ref`` (per day, so periods of different lengths compare): positive when
the building used less than in the reference period at equal climate. A building that follows its
signature exactly shows 0 % whether the current period is colder or milder than the reference
(``tests/unit/test_report_signature.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

#: Points (weeks or days) a fit needs.
MIN_POINTS = 4
#: Weeks with at least this many measured days count as a weekly point.
MIN_WEEK_DAYS = 5
#: Below this many weekly points the fit uses days.
MIN_WEEKS = 4
#: A current period's own slope is used when its fit explains at least this share of the variance.
RELIABLE_R2 = 0.6
#: Degree-days per day must spread at least this much (standard deviation) for a slope to mean anything.
MIN_SPREAD = 0.5


@dataclass(frozen=True, slots=True)
class Signature:
    """``kWh/day = base + slope × DJU/day``, fitted on ``points`` points (weeks or days)."""

    base_per_day: float
    slope: float
    r2: float | None
    points: int
    weekly: bool

    def expected(self, dju: float, days: float = 1.0) -> float:
        """What the signature predicts for ``days`` days totalling ``dju`` degree-days."""
        return self.base_per_day * days + self.slope * dju

    @property
    def reliable(self) -> bool:
        return self.points >= MIN_POINTS and self.r2 is not None and self.r2 >= RELIABLE_R2


def fit_line(points: Sequence[tuple[float, float]]) -> Signature | None:
    """Least squares ``y = base + slope × x`` on ``(x, y)`` points; ``None`` without enough points or spread."""
    n = len(points)
    if n < MIN_POINTS:
        return None
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if math.sqrt(sxx / n) < MIN_SPREAD:
        return Signature(my, 0.0, None, n, False)  # no climate signal to fit: the mean is the base
    sxy = sum((x - mx) * (y - my) for x, y in points)
    syy = sum((y - my) ** 2 for _, y in points)
    slope = sxy / sxx
    if slope < 0:
        return Signature(my, 0.0, 0.0, n, False)
    base = my - slope * mx
    r2 = (sxy * sxy) / (sxx * syy) if syy > 0 else 1.0
    return Signature(base, slope, r2, n, False)


def weekly_points(days: Iterable[tuple[date, float, float]]) -> list[tuple[float, float]]:
    """``(DJU/day, kWh/day)`` of each ISO week (Monday to Sunday) with at least :data:`MIN_WEEK_DAYS` days."""
    weeks: dict[date, list[tuple[float, float]]] = {}
    for day, dju, kwh in days:
        weeks.setdefault(day - timedelta(days=day.weekday()), []).append((dju, kwh))
    return [
        (sum(d for d, _ in items) / len(items), sum(k for _, k in items) / len(items))
        for _, items in sorted(weeks.items())
        if len(items) >= MIN_WEEK_DAYS
    ]


def fit(days: Sequence[tuple[date, float, float]]) -> Signature | None:
    """The signature of ``(day, DJU, kWh)`` points: on weeks when there are enough, else on days."""
    weeks = weekly_points(days)
    if len(weeks) >= MIN_WEEKS:
        found = fit_line(weeks)
        if found is not None:
            return Signature(found.base_per_day, found.slope, found.r2, found.points, True)
    return fit_line([(dju, kwh) for _, dju, kwh in days])


@dataclass(frozen=True, slots=True)
class Period:
    """A period's measured totals: energy over ``energy_days`` days, degree-days over ``dju_days`` days."""

    energy: float
    energy_days: int
    dju: float
    dju_days: int

    @property
    def rate(self) -> float | None:
        """Energy per day."""
        return self.energy / self.energy_days if self.energy_days else None

    @property
    def dju_rate(self) -> float | None:
        """Degree-days per day."""
        return self.dju / self.dju_days if self.dju_days else None


def normalised_rate(current: Period, reference: Period, slope: float) -> float | None:
    """The current energy per day at the reference's climate: ``e_cur + slope × (d_ref − d_cur)``."""
    e, d, d_ref = current.rate, current.dju_rate, reference.dju_rate
    if e is None or d is None or d_ref is None:
        return None
    return e + slope * (d_ref - d)


def saving_pct(current: Period, reference: Period, slope: float) -> float | None:
    """``100 × (1 − e_norm / e_ref)``: the saving at equal climate, per day (``None`` if not computable)."""
    norm = normalised_rate(current, reference, slope)
    e_ref = reference.rate
    if norm is None or e_ref is None or e_ref <= 0:
        return None
    return 100.0 * (1.0 - norm / e_ref)


def choose_slope(current: Signature | None, reference: Signature | None) -> tuple[float, str] | None:
    """The slope normalisation uses and whose it is: the current period's when reliable, else the
    reference's, else the current one's even if weak; ``None`` without any fit."""
    if current is not None and current.reliable:
        return current.slope, "current"
    if reference is not None:
        return reference.slope, "reference"
    if current is not None:
        return current.slope, "current"
    return None
