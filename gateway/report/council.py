"""The council's report (``village-gateway report --format html``): what it shows, computed.

Rules: everything the printable report shows is assembled here into plain values (the comparison,
month-by-month totals against the reference's same months, coverage), so the template only formats;
months of the reference are aligned with the period's by their offset (a reference a year earlier:
November against November).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from gateway.report.compare import Comparison, compare
from gateway.report.daily import DailyFigures

Month = tuple[date, float | None, float | None]  # (first day of the period's month, kWh, reference kWh)


@dataclass(frozen=True, slots=True)
class CouncilReport:
    """The comparison, the months of each building, and how the degree-days were computed."""

    comparison: Comparison
    months: dict[str, list[Month]]
    method: str
    base_c: float
    outdoor_sensor: str | None
    station_days: int  # days whose degree-days came from the station file
    generated: datetime


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def months_of(figures: DailyFigures, building: str, c: Comparison) -> list[Month]:
    """The period's months, each with its kWh and the kWh of the reference's matching month."""
    offset = _month_index(c.first) - _month_index(c.ref_first)
    current: dict[int, float] = {}
    for day, kwh in figures.energy(building, c.first, c.last).items():
        current[_month_index(day)] = current.get(_month_index(day), 0.0) + kwh
    reference: dict[int, float] = {}
    for day, kwh in figures.energy(building, c.ref_first, c.ref_last).items():
        reference[_month_index(day) + offset] = reference.get(_month_index(day) + offset, 0.0) + kwh
    return [
        (date(index // 12, index % 12 + 1, 1), current.get(index), reference.get(index))
        for index in range(_month_index(c.first), _month_index(c.last) + 1)
    ]


def council_report(
    figures: DailyFigures, first: date, last: date, reference: tuple[date, date] | None, *, generated: datetime
) -> CouncilReport:
    """Everything the printable report needs."""
    c = compare(figures, first, last, reference)
    dju = {**figures.degree_days(first, last), **figures.degree_days(c.ref_first, c.ref_last)}
    return CouncilReport(
        comparison=c,
        months={b.building: months_of(figures, b.building, c) for b in c.buildings},
        method=figures.config.report.method,
        base_c=figures.config.report.base_c,
        outdoor_sensor=figures.outdoor_sensor,
        station_days=sum(1 for v in dju.values() if v.source == "station"),
        generated=generated,
    )
