"""``village-gateway simulate --config FILE --days 7 [--start YYYY-MM-DD] [--warmup-days 7] [--json]``.

Runs the real rules engine against the simulated village (gateway/simulation/) faster than real time,
beside two baselines on the same world: a programmable thermostat with its best fixed lead per zone
and a thermostat held at confort all the time. Prints one JSON object (``--json``) or a table: per
zone the energy of each controller, occupied hours and those below target, late starts, temperatures
and relay switches; per lighting circuit the hours on against dusk-to-dawn; the totals and savings.
``--weather`` picks an outdoor preset (january, cold, mild) and ``--seed`` another seed.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="configuration file (TOML) with a [simulation] table")
    parser.add_argument("--days", type=float, default=7.0, help="reported days (default 7)")
    parser.add_argument("--start", type=date.fromisoformat, help="first day YYYY-MM-DD (default [simulation].start)")
    parser.add_argument(
        "--warmup-days", type=float, default=7.0, help="days simulated before the reported period (default 7)"
    )
    parser.add_argument("--weather", choices=["january", "cold", "mild"], help="outdoor preset (overrides the file)")
    parser.add_argument("--seed", type=int, help="seed (overrides [simulation].seed)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def with_options(config: Any, *, seed: int | None = None, weather: str | None = None) -> Any:
    """``config`` with another seed and/or outdoor preset (the preset's own values, not the file's)."""
    sim = config.simulation
    update: dict[str, Any] = {}
    if seed is not None:
        update["seed"] = seed
    if weather is not None:
        update["outdoor"] = sim.outdoor.model_copy(
            update={"preset": weather, "mean_c": None, "daily_swing_c": None, "day_to_day_c": None, "cloud_cover": None}
        )
    if not update:
        return config
    return config.model_copy(update={"simulation": sim.model_copy(update=update)})


def run(args: argparse.Namespace) -> int:
    from gateway.config import load_config
    from gateway.errors import ConfigError
    from gateway.simulate import SimulationError, simulate

    if not 0 < args.days <= 366 or not 0 <= args.warmup_days <= 60:
        print("--days must be between 0 and 366, --warmup-days between 0 and 60", file=sys.stderr)
        return 2
    try:
        config = with_options(load_config(args.config), seed=args.seed, weather=args.weather)
        result = simulate(config, days=args.days, start=args.start, warmup_days=args.warmup_days)
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
    _table(result)
    return 0


def _table(result: dict[str, Any]) -> None:
    programmer = result["baselines"]["programmer"]
    always = result["baselines"]["always_confort"]
    weather = result["weather"]
    print(
        f"{result['start']} + {result['days']:g} days after {result['warmup_days']:g} days of warm-up, seed "
        f"{result['seed']}; outdoor {weather['preset']}: mean {weather['mean_outdoor_c']} °C, min "
        f"{weather['min_outdoor_c']} °C, {weather['degree_days']} degree days"
    )
    print(
        f"{'zone':<22}{'rules kWh':>10}{'prog kWh':>10}{'lead h':>7}{'always':>9}{'occ h':>7}"
        f"{'below h':>9}{'prog':>6}{'late':>6}{'min °C':>8}{'switches':>9}"
    )
    for key, z in result["zones"].items():
        p = programmer["zones"][key]
        print(
            f"{key:<22}{z['heating_kwh']:>10}{z['programmer_kwh']:>10}{programmer['leads_h'][key]:>7}"
            f"{z['baseline_kwh']:>9}{z['occupied_hours']:>7}{z['occupied_hours_below_target']:>9}"
            f"{p['occupied_hours_below_target']:>6}{z['late_starts']:>6}{z['min_temperature_c']:>8}"
            f"{z['relay_switches']:>9}"
        )
    if programmer["leads_not_found"]:
        print(f"no lead had every occupancy on time (the longest is used): {', '.join(programmer['leads_not_found'])}")
    for cid, c in result["lighting"].items():
        print(f"lighting {cid:<22} on {c['on_hours']} h (dusk to dawn {c['baseline_on_hours']} h)")
    t = result["totals"]
    print(
        f"total {t['heating_kwh']} kWh; programmer {t['programmer_kwh']} kWh"
        f" (saving {t['saving_vs_programmer_pct']} %); always confort {always['heating_kwh']} kWh"
        f" (saving {t['saving_vs_always_pct']} %)"
    )
