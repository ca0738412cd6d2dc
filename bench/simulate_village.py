"""Simulate one village over several seeds and start weeks; print the three controllers' energy, comfort and speed.

Usage: .venv/bin/python bench/simulate_village.py [--config examples/village.toml] [--days 7] [--warmup-days 7]
       [--seeds 1 2 3 7 11] [--weeks 2] [--weather january|cold|mild]

``s`` is the wall time of one ``simulate`` (the rules over warm-up + reported days, the programmer's lead
search and always-confort); ``ms/tick`` divides it by the ticks of the rules' run.
"""

from __future__ import annotations

import argparse
import time
from datetime import date, timedelta
from pathlib import Path

from gateway.commands.simulate import with_options
from gateway.config import load_config
from gateway.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default=str(ROOT / "examples" / "village.toml"))
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--warmup-days", type=float, default=7.0)
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3, 7, 11])
    parser.add_argument("--weeks", type=int, default=2, help="consecutive start weeks from [simulation].start")
    parser.add_argument("--weather", choices=["january", "cold", "mild"])
    args = parser.parse_args()
    base = load_config(args.config)
    first = base.simulation.start or date(2026, 1, 12)
    print(
        f"{'seed':>5} {'start':>11} {'rules':>8} {'prog':>8} {'always':>8} {'vs prog':>8} {'vs alw':>7}"
        f" {'below %':>8} {'s':>6} {'ms/tick':>8}"
    )
    for seed in args.seeds:
        config = with_options(base, seed=seed, weather=args.weather)
        for week in range(args.weeks):
            start = first + timedelta(days=7 * week)
            t0 = time.perf_counter()
            result = simulate(config, days=args.days, start=start, warmup_days=args.warmup_days)
            elapsed = time.perf_counter() - t0
            ticks = (args.days + args.warmup_days) * 86_400 / config.simulation.tick_s
            totals = result["totals"]
            occupied = totals["occupied_hours"]
            below = totals["occupied_hours_below_target"]
            print(
                f"{seed:>5} {start.isoformat():>11} {totals['heating_kwh']:>8} {totals['programmer_kwh']:>8}"
                f" {totals['baseline_kwh']:>8} {totals['saving_vs_programmer_pct']:>8}"
                f" {totals['saving_vs_always_pct']:>7}"
                f" {100 * below / occupied if occupied else 0:>8.2f} {elapsed:>6.1f} {1000 * elapsed / ticks:>8.2f}"
            )


if __name__ == "__main__":
    main()
