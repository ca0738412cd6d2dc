"""The JSON object of ``village-gateway simulate --json``.

Rules of this module: plain data, rounded for reading; the keys of the first version are kept with
their meaning (``zones.*.baseline_kwh`` and ``totals.baseline_kwh``/``saving_pct`` are against
always-confort), and the baselines of issue 10 are added:

- ``baselines.always_confort`` / ``baselines.programmer``: ``{zones: {key: {...}}, heating_kwh,
  occupied_hours_below_target}``, ``baselines.programmer.leads_h`` (and ``leads_not_found``);
- ``totals.saving_vs_programmer_pct`` and ``totals.saving_vs_always_pct``;
- per zone and controller: occupied hours, below-target hours and % (outside outages), hours below
  target during outages, late starts, min/max air temperature, relay switches, kWh;
- ``weather``: the reported period's outdoor figures and degree days (Météo-France, base 18 °C).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from gateway.simulation.baselines import LeadSearch
from gateway.simulation.metrics import ZoneMetrics
from gateway.simulation.rules_run import RulesResult
from gateway.simulation.world import World
from rules import schedule


def _saving(kwh: float, against: float) -> float:
    return round(100 * (1 - kwh / against), 1) if against > 0 else 0.0


def _side(zones: Mapping[str, ZoneMetrics]) -> dict[str, Any]:
    return {
        "zones": {key: m.as_json() for key, m in zones.items()},
        "heating_kwh": round(sum(m.energy_kwh for m in zones.values()), 1),
        "occupied_hours_below_target": round(sum(m.below_h for m in zones.values()), 2),
    }


def degree_days(world: World) -> float:
    """Météo-France degree days (base 18 °C) of the reported days: Σ max(0, 18 − (Tmin + Tmax)/2)."""
    clock = world.clock
    days: dict[date, tuple[float, float]] = {}
    for i in range(clock.report_i, clock.n):
        day = schedule.from_ns(clock.time(i), world.tz).date()
        value = world.outdoor[i]
        low, high = days.get(day, (value, value))
        days[day] = (min(low, value), max(high, value))
    return round(sum(max(0.0, 18 - (low + high) / 2) for low, high in days.values()), 1)


def report(
    world: World,
    rules: RulesResult,
    always: Mapping[str, ZoneMetrics],
    leads: Mapping[str, LeadSearch],
    *,
    days: float,
    start: date,
    warmup_days: float,
    seed: int,
) -> dict[str, Any]:
    """Assemble the figures of one run."""
    zones: dict[str, Any] = {}
    for zw in world.zones:
        figures = rules.zones[zw.key].as_json()
        figures["baseline_kwh"] = round(always[zw.key].energy_kwh, 1)
        figures["programmer_kwh"] = round(leads[zw.key].metrics.energy_kwh, 1)
        figures["comfort_on"] = "felt" if zw.params.emitter.kind == "local" else "air"
        figures["model"] = zw.params.figures()
        zones[zw.key] = figures
    programmer = _side({k: s.metrics for k, s in leads.items()})
    programmer["leads_h"] = {k: s.lead_h for k, s in leads.items()}
    programmer["leads_not_found"] = sorted(k for k, s in leads.items() if not s.found)
    programmer["lead_search_runs"] = {k: s.runs for k, s in leads.items()}
    always_side = _side(always)
    rules_kwh = sum(m.energy_kwh for m in rules.zones.values())
    always_kwh = sum(m.energy_kwh for m in always.values())
    programmer_kwh = sum(s.metrics.energy_kwh for s in leads.values())
    return {
        "start": start.isoformat(),
        "days": days,
        "warmup_days": warmup_days,
        "seed": seed,
        "weather": {**world.weather, "degree_days": degree_days(world)},
        "zones": zones,
        "lighting": {
            cid: {"on_hours": round(on, 2), "baseline_on_hours": round(base, 2)}
            for cid, (on, base) in sorted(rules.lighting.items())
        },
        "baselines": {"always_confort": always_side, "programmer": programmer},
        "totals": {
            "heating_kwh": round(rules_kwh, 1),
            "baseline_kwh": always_side["heating_kwh"],
            "programmer_kwh": programmer["heating_kwh"],
            "saving_pct": _saving(rules_kwh, always_kwh),
            "saving_vs_always_pct": _saving(rules_kwh, always_kwh),
            "saving_vs_programmer_pct": _saving(rules_kwh, programmer_kwh),
            "occupied_hours": round(sum(m.occupied_h for m in rules.zones.values()), 2),
            "occupied_hours_below_target": round(sum(m.below_h for m in rules.zones.values()), 2),
        },
    }
