"""``village-gateway simulate --config FILE --days 7 [--start YYYY-MM-DD] [--json]``: what-if figures.

Runs the real rules engine against the simulated village (gateway/simulate.py) faster than real time
and prints one JSON object (``--json``) or a short table: per zone the heating energy against a
baseline held at confort, occupied hours and those below target, temperatures and relay switches;
per lighting circuit the hours on against dusk-to-dawn; the totals and the saving.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

HELP = "simulate the rules against thermal models and print the energy saved (what-if)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="configuration file (TOML) with a [simulation] table")
    parser.add_argument("--days", type=float, default=7.0, help="simulated days (default 7)")
    parser.add_argument("--start", type=date.fromisoformat, help="first day YYYY-MM-DD (default [simulation].start)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from gateway.config import load_config
    from gateway.errors import ConfigError
    from gateway.simulate import SimulationError, simulate

    if not 0 < args.days <= 366:
        print("--days must be between 0 and 366", file=sys.stderr)
        return 2
    try:
        config = load_config(args.config)
        result = simulate(config, days=args.days, start=args.start)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except SimulationError as exc:
        print(f"{args.config}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print(
        f"{'zone':<22}{'kWh':>9}{'baseline':>10}{'occupied h':>12}{'below h':>9}"
        f"{'min °C':>8}{'max °C':>8}{'switches':>10}"
    )
    for key, z in result["zones"].items():
        print(
            f"{key:<22}{z['heating_kwh']:>9}{z['baseline_kwh']:>10}{z['occupied_hours']:>12}"
            f"{z['occupied_hours_below_target']:>9}{z['min_temperature_c']:>8}{z['max_temperature_c']:>8}"
            f"{z['relay_switches']:>10}"
        )
    for cid, c in result["lighting"].items():
        print(f"lighting {cid:<22} on {c['on_hours']} h (dusk to dawn {c['baseline_on_hours']} h)")
    t = result["totals"]
    print(f"total {t['heating_kwh']} kWh against {t['baseline_kwh']} kWh: saving {t['saving_pct']} %")
    return 0
