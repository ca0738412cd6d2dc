"""A period against its reference, per building: energy, water, degree-days, signature, saving.

Rules of this module:
- periods are whole local days, ``first`` and ``last`` inclusive; figures cover the days the archive
  has (``energy_days``, ``dju_days`` say how many), and rates are per measured day;
- the default reference is the same dates a year earlier (:func:`year_before`);
- each period's signature is fitted on its own weeks, widened backwards to at least
  :data:`FIT_WEEKS` weeks ending on its last day when it is shorter (a week or a month holds too
  little weather for a slope); the saving uses :func:`gateway.report.signature.choose_slope`;
- heating hours avoided: the reference's heater hours per day minus the current ones brought to the
  reference's climate by the heater hours' own signature, times the current period's days;
- reads go through :class:`gateway.report.daily.DailyFigures` (cached for the web, fresh for tools).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from gateway.report import signature as sg
from gateway.report.daily import DailyFigures
from gateway.report.meters import year_ago_date

#: A signature is fitted on at least this many weeks ending on the period's last day.
FIT_WEEKS = 12
#: A saving is computed only when both periods have energy and degree-days on this share of their days
#: (a reference covering November alone says nothing about a whole year).
MIN_COVERAGE = 0.9


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    """One building over one period."""

    first: date
    last: date
    energy_kwh: float | None
    energy_days: int
    water_m3: float | None
    water_days: int
    dju: float | None
    dju_days: int
    heater_hours: float | None
    heater_days: int
    signature: sg.Signature | None
    heater_signature: sg.Signature | None
    points: tuple[tuple[date, float, float], ...]  # (day, DJU, kWh) of the period's days with both

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def covered(self) -> bool:
        """Energy and degree-days on at least :data:`MIN_COVERAGE` of the period's days."""
        return min(self.energy_days, self.dju_days) >= MIN_COVERAGE * self.days

    @property
    def kwh_per_dju(self) -> float | None:
        """Energy over degree-days of the days having both (``None`` without heating weather)."""
        dju = sum(d for _, d, _ in self.points)
        return sum(k for _, _, k in self.points) / dju if dju >= 1.0 else None

    def energy_period(self) -> sg.Period:
        return sg.Period(self.energy_kwh or 0.0, self.energy_days, self.dju or 0.0, self.dju_days)

    def heater_period(self) -> sg.Period:
        return sg.Period(self.heater_hours or 0.0, self.heater_days, self.dju or 0.0, self.dju_days)


@dataclass(frozen=True, slots=True)
class BuildingComparison:
    """A building's period, its reference and the saving at equal climate."""

    building: str
    name: str
    floor_area_m2: float | None
    current: PeriodFigures
    reference: PeriodFigures
    slope: float | None  # kWh per degree-day used for the normalisation
    slope_from: str | None  # "current" or "reference"
    normalised_kwh: float | None  # the current period's energy at the reference's climate
    saving_pct: float | None
    water_saving_pct: float | None
    heater_hours_avoided: float | None


@dataclass(frozen=True, slots=True)
class Comparison:
    """Every building over ``first..last`` against ``ref_first..ref_last``; the site's degree-days."""

    first: date
    last: date
    ref_first: date
    ref_last: date
    dju: float | None
    dju_days: int
    ref_dju: float | None
    ref_dju_days: int
    buildings: tuple[BuildingComparison, ...]


def year_before(first: date, last: date) -> tuple[date, date]:
    """The same dates a year earlier (the default reference)."""
    return year_ago_date(first), year_ago_date(last)


def _total(values: Iterable[float]) -> float | None:
    items = list(values)
    return sum(items) if items else None


def period_figures(figures: DailyFigures, building: str, first: date, last: date) -> PeriodFigures:
    """A building's figures over ``first..last``, and its signatures fitted on at least :data:`FIT_WEEKS`."""
    fit_first = min(first, last - timedelta(weeks=FIT_WEEKS) + timedelta(days=1))
    dju = {d: v.value for d, v in figures.degree_days(fit_first, last).items()}
    energy = figures.energy(building, fit_first, last)
    water = figures.water(building, first, last)
    hours = figures.heater_hours(building, fit_first, last)
    fit_points = [(d, dju[d], kwh) for d, kwh in energy.items() if d in dju]
    heater_points = [(d, dju[d], h) for d, h in hours.items() if d in dju]
    inside = [p for p in fit_points if first <= p[0] <= last]
    in_energy = [v for d, v in energy.items() if first <= d <= last]
    in_dju = [v for d, v in dju.items() if first <= d <= last]
    in_hours = [v for d, v in hours.items() if first <= d <= last]
    return PeriodFigures(
        first=first,
        last=last,
        energy_kwh=_total(in_energy),
        energy_days=len(in_energy),
        water_m3=_total(water.values()),
        water_days=len(water),
        dju=_total(in_dju),
        dju_days=len(in_dju),
        heater_hours=_total(in_hours),
        heater_days=len(in_hours),
        signature=sg.fit(fit_points),
        heater_signature=sg.fit(heater_points) if any(h > 0 for _, _, h in heater_points) else None,
        points=tuple(inside),
    )


def compare_building(
    figures: DailyFigures, building: str, *, first: date, last: date, ref_first: date, ref_last: date
) -> BuildingComparison:
    """One building's period against its reference."""
    config = figures.config.buildings[building]
    current = period_figures(figures, building, first, last)
    reference = period_figures(figures, building, ref_first, ref_last)
    chosen = sg.choose_slope(current.signature, reference.signature)
    slope, slope_from = chosen if chosen is not None else (None, None)
    normalised = saving = None
    comparable = current.covered and reference.covered
    if slope is not None and comparable:
        rate = sg.normalised_rate(current.energy_period(), reference.energy_period(), slope)
        normalised = rate * current.energy_days if rate is not None else None
        saving = sg.saving_pct(current.energy_period(), reference.energy_period(), slope)
    water_saving = None
    if (current.water_m3 is not None and reference.water_m3 and current.water_days >= MIN_COVERAGE * current.days
            and reference.water_days >= MIN_COVERAGE * reference.days):
        per_day = current.water_m3 / current.water_days
        water_saving = 100.0 * (1 - per_day / (reference.water_m3 / reference.water_days))
    avoided = None
    heater_slope = sg.choose_slope(current.heater_signature, reference.heater_signature)
    if heater_slope is not None and reference.heater_hours is not None and comparable:
        rate = sg.normalised_rate(current.heater_period(), reference.heater_period(), heater_slope[0])
        ref_rate = reference.heater_period().rate
        if rate is not None and ref_rate is not None:
            avoided = (ref_rate - rate) * current.heater_days
    return BuildingComparison(
        building=building,
        name=config.name,
        floor_area_m2=config.floor_area_m2,
        current=current,
        reference=reference,
        slope=slope,
        slope_from=slope_from,
        normalised_kwh=normalised,
        saving_pct=saving,
        water_saving_pct=water_saving,
        heater_hours_avoided=avoided,
    )


def compare(
    figures: DailyFigures,
    first: date,
    last: date,
    reference: tuple[date, date] | None = None,
    buildings: Iterable[str] | None = None,
) -> Comparison:
    """Every building (or ``buildings``) over ``first..last`` against ``reference`` (default: a year before)."""
    ref_first, ref_last = reference or year_before(first, last)
    ids = list(buildings) if buildings is not None else list(figures.config.buildings)
    dju = figures.degree_days(first, last)
    ref_dju = figures.degree_days(ref_first, ref_last)
    return Comparison(
        first=first,
        last=last,
        ref_first=ref_first,
        ref_last=ref_last,
        dju=_total(v.value for v in dju.values()),
        dju_days=len(dju),
        ref_dju=_total(v.value for v in ref_dju.values()),
        ref_dju_days=len(ref_dju),
        buildings=tuple(
            compare_building(figures, b, first=first, last=last, ref_first=ref_first, ref_last=ref_last) for b in ids
        ),
    )
