"""What-if simulation: the REAL rules engine against building models, faster than real time, beside
the two honest baselines it is judged against.

Rules of this package:
- one world per run (:mod:`.world`): weather, sunshine, occupancy, no-shows, windows, outages and
  sensor noise computed once; the rules (:mod:`.rules_run`), the tuned programmer and always-confort
  (:mod:`.baselines`) each heat their own copy of every zone in that same world;
- a warm-up (``warmup_days``, default 7) runs before the reported period, so no controller pays a
  cold start; the rules keep the memory they built during it; figures cover the reported period only;
- everything is deterministic from the configuration's seed: same file, same figures;
- the result is plain data (:func:`simulate` returns the JSON object ``simulate --json`` prints,
  :mod:`.report`).

Example::

    result = simulate(load_config("examples/village.toml"), days=7, warmup_days=7)
    result["totals"]["saving_vs_programmer_pct"], result["baselines"]["programmer"]["leads_h"]
"""

from __future__ import annotations

from datetime import date
from typing import Any

from gateway.simulation.baselines import best_lead, run_zone
from gateway.simulation.report import report
from gateway.simulation.rules_run import Trace, run_rules
from gateway.simulation.world import SimulationError, build
from rules.config import Site, site_from_config

__all__ = ["SimulationError", "Trace", "simulate", "site_of"]

DEFAULT_START = date(2026, 1, 12)


def simulate(
    config: Any,
    *,
    days: float = 7.0,
    start: date | None = None,
    warmup_days: float = 7.0,
    trace: Trace | None = None,
) -> dict[str, Any]:
    """Run the site for ``days`` from local midnight of ``start`` after ``warmup_days`` of warm-up."""
    if days <= 0 or warmup_days < 0:
        raise SimulationError("days must be > 0 and warmup_days >= 0")
    site = site_from_config(config)
    first = start or config.simulation.start or DEFAULT_START
    world = build(config, site, days=days, start=first, warmup_days=warmup_days)
    rules = run_rules(world, site, config.simulation.outdoor.sensor, trace)
    always = {zw.key: run_zone(world, zw, None) for zw in world.zones}
    leads = {zw.key: best_lead(world, zw) for zw in world.zones}
    seed = config.simulation.seed
    return report(world, rules, always, leads, days=days, start=first, warmup_days=warmup_days, seed=seed)


def site_of(config: Any) -> Site:
    """The rules' view of the configuration (re-exported for the command and tests)."""
    return site_from_config(config)
