"""Simulate the example village over several seeds and start weeks; print savings, comfort and speed.

Usage: .venv/bin/python bench/simulate_village.py [--days 7] [--seeds 1 2 3] [--config examples/village.toml]
"""

from __future__ import annotations

import argparse
import time
from datetime import date, timedelta
from pathlib import Path

from gateway.config import load_config
from gateway.simulate import simulate

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default=str(ROOT / "examples" / "village.toml"))
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3, 7, 11])
    parser.add_argument("--weeks", type=int, default=2, help="consecutive start weeks from [simulation].start")
    args = parser.parse_args()
    base = load_config(args.config)
    first = base.simulation.start or date(2026, 1, 12)
    print(
        f"{'seed':>5} {'start':>11} {'kWh':>8} {'baseline':>9} {'saving %':>9} {'below %':>8} {'s':>6} {'ms/tick':>8}"
    )
    for seed in args.seeds:
        config = base.model_copy(update={"simulation": base.simulation.model_copy(update={"seed": seed})})
        for week in range(args.weeks):
            start = first + timedelta(days=7 * week)
            t0 = time.perf_counter()
            result = simulate(config, days=args.days, start=start)
            elapsed = time.perf_counter() - t0
            ticks = args.days * 86_400 / config.simulation.tick_s
            occupied = sum(z["occupied_hours"] for z in result["zones"].values())
            below = sum(z["occupied_hours_below_target"] for z in result["zones"].values())
            totals = result["totals"]
            print(
                f"{seed:>5} {start.isoformat():>11} {totals['heating_kwh']:>8} {totals['baseline_kwh']:>9} "
                f"{totals['saving_pct']:>9} {100 * below / occupied if occupied else 0:>8.2f} {elapsed:>6.1f} "
                f"{1000 * elapsed / ticks:>8.2f}"
            )


if __name__ == "__main__":
    main()
