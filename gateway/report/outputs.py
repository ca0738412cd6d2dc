"""``village-gateway report`` as data: JSON for machines, a yearly CSV for the décret tertiaire.

JSON (one object)::

    {"from": "2025-11-01", "to": "2026-03-31", "reference_from": ..., "reference_to": ...,
     "method": "costic", "base_c": 18.0, "dju": 1650.2, "dju_days": 151, "reference_dju": ...,
     "buildings": {"mairie": {"name": "Mairie", "energy_kwh": ..., "water_m3": ..., "dju": ...,
                   "kwh_per_dju": ..., "normalised_kwh": ..., "normalised_saving_pct": ...,
                   "signature": {"base_kwh_per_day": ..., "kwh_per_dju": ..., "r2": ..., "points": ..., "weekly": ...},
                   "reference": {"from": ..., "to": ..., "energy_kwh": ..., ..., "signature": {...}}, ...}}}

Missing figures are ``null`` (a building without a water meter, a period the archive does not cover).

CSV (``;`` separated, decimal comma, UTF-8 with a byte-order mark so spreadsheets open it in French):
one row per building, energy and calendar year of the period, with the year's final energy, the
year's and the reference's degree-days and the energy corrected to the reference's climate, as an
OPERAT declaration asks for them (docs/reporting.md).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date
from typing import Any

from gateway.report.compare import BuildingComparison, Comparison, PeriodFigures, compare, year_before
from gateway.report.daily import DailyFigures
from gateway.report.signature import Signature


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _signature(sig: Signature | None) -> dict[str, Any] | None:
    if sig is None:
        return None
    return {
        "base_kwh_per_day": _round(sig.base_per_day),
        "kwh_per_dju": _round(sig.slope, 3),
        "r2": _round(sig.r2, 3),
        "points": sig.points,
        "weekly": sig.weekly,
    }


def _period(p: PeriodFigures) -> dict[str, Any]:
    return {
        "from": p.first.isoformat(),
        "to": p.last.isoformat(),
        "energy_kwh": _round(p.energy_kwh, 1),
        "days": p.days,
        "energy_days": p.energy_days,
        "water_m3": _round(p.water_m3, 3),
        "dju": _round(p.dju, 1),
        "dju_days": p.dju_days,
        "kwh_per_dju": _round(p.kwh_per_dju, 3),
        "heater_hours": _round(p.heater_hours, 1),
        "signature": _signature(p.signature),
    }


def building_json(b: BuildingComparison) -> dict[str, Any]:
    """One building's figures (the period's at the top level, the reference's under ``reference``)."""
    current = _period(b.current)
    kwh_per_m2 = b.current.energy_kwh / b.floor_area_m2 if b.floor_area_m2 and b.current.energy_kwh else None
    return {
        "name": b.name,
        "floor_area_m2": b.floor_area_m2,
        **{k: v for k, v in current.items() if k not in ("from", "to")},
        "kwh_per_m2": _round(kwh_per_m2, 1),
        "normalised_kwh": _round(b.normalised_kwh, 1),
        "normalised_saving_pct": _round(b.saving_pct, 1),
        "slope_from": b.slope_from,
        "water_saving_pct": _round(b.water_saving_pct, 1),
        "heater_hours_avoided": _round(b.heater_hours_avoided, 1),
        "reference": _period(b.reference),
    }


def comparison_json(c: Comparison, *, method: str, base_c: float) -> dict[str, Any]:
    """The whole report as one JSON-ready object."""
    return {
        "from": c.first.isoformat(),
        "to": c.last.isoformat(),
        "reference_from": c.ref_first.isoformat(),
        "reference_to": c.ref_last.isoformat(),
        "method": method,
        "base_c": base_c,
        "days": (c.last - c.first).days + 1,
        "dju": _round(c.dju, 1),
        "dju_days": c.dju_days,
        "reference_dju": _round(c.ref_dju, 1),
        "reference_dju_days": c.ref_dju_days,
        "buildings": {b.building: building_json(b) for b in c.buildings},
    }


# ---- the yearly CSV -------------------------------------------------------------------------------------
CSV_COLUMNS = (
    "annee",
    "batiment",
    "nom",
    "surface_m2",
    "energie",
    "unite",
    "debut",
    "fin",
    "jours_mesures",
    "consommation",
    "kwh_par_m2",
    "dju",
    "dju_jours",
    "reference_debut",
    "reference_fin",
    "consommation_reference",
    "reference_jours_mesures",
    "dju_reference",
    "consommation_corrigee_climat",
    "ecart_corrige_pct",
)


def yearly_slices(first: date, last: date) -> list[tuple[int, date, date]]:
    """The calendar years ``first..last`` spans, each cut to the period."""
    return [
        (year, max(first, date(year, 1, 1)), min(last, date(year, 12, 31)))
        for year in range(first.year, last.year + 1)
    ]


def yearly_rows(
    figures: DailyFigures, first: date, last: date, reference: tuple[date, date] | None = None
) -> list[dict[str, Any]]:
    """One row per building, energy and calendar year: the year's slice against ``reference`` (fixed,
    e.g. a reference year) or, by default, the same dates a year earlier."""
    rows: list[dict[str, Any]] = []
    for year, a, b in yearly_slices(first, last):
        result = compare(figures, a, b, reference or year_before(a, b))
        for bc in result.buildings:
            cur, ref = bc.current, bc.reference
            if cur.energy_days:
                rows.append({
                    "annee": year, "batiment": bc.building, "nom": bc.name, "surface_m2": bc.floor_area_m2,
                    "energie": "electricite", "unite": "kWh", "debut": a.isoformat(), "fin": b.isoformat(),
                    "jours_mesures": cur.energy_days, "consommation": _round(cur.energy_kwh, 0),
                    "kwh_par_m2": _round(cur.energy_kwh / bc.floor_area_m2, 1)
                    if bc.floor_area_m2 and cur.energy_kwh else None,
                    "dju": _round(cur.dju, 0), "dju_jours": cur.dju_days,
                    "reference_debut": ref.first.isoformat(), "reference_fin": ref.last.isoformat(),
                    "consommation_reference": _round(ref.energy_kwh, 0), "reference_jours_mesures": ref.energy_days,
                    "dju_reference": _round(ref.dju, 0),
                    "consommation_corrigee_climat": _round(bc.normalised_kwh, 0),
                    "ecart_corrige_pct": _round(-bc.saving_pct, 1) if bc.saving_pct is not None else None,
                })
            if cur.water_days:
                rows.append({
                    "annee": year, "batiment": bc.building, "nom": bc.name, "surface_m2": bc.floor_area_m2,
                    "energie": "eau", "unite": "m3", "debut": a.isoformat(), "fin": b.isoformat(),
                    "jours_mesures": cur.water_days, "consommation": _round(cur.water_m3, 1),
                    "kwh_par_m2": None, "dju": None, "dju_jours": None,
                    "reference_debut": ref.first.isoformat(), "reference_fin": ref.last.isoformat(),
                    "consommation_reference": _round(ref.water_m3, 1), "reference_jours_mesures": ref.water_days,
                    "dju_reference": None,
                    "consommation_corrigee_climat": None,
                    "ecart_corrige_pct": _round(-bc.water_saving_pct, 1) if bc.water_saving_pct is not None else None,
                })
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.1f}" if not value.is_integer() else f"{value:.0f}"
        return text.replace(".", ",")
    return str(value)


def csv_text(rows: Iterable[dict[str, Any]]) -> str:
    """The rows as French CSV text (``;``, decimal comma, BOM)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in CSV_COLUMNS])
    return "\ufeff" + out.getvalue()
