"""The sobriety matrix: villages × {cold week, mild week} × seeds — the rules against a tuned programmable
thermostat and against always-confort, energy and comfort per zone (issue 10).

Usage:
    .venv/bin/python bench/sobriety.py [--villages FILE ...] [--weeks cold mild] [--seeds 1 2 3]
                                       [--days 7] [--warmup-days 7] [--jobs 2] [--json] [--out FILE]

Defaults: examples/village.toml, bench/villages/bourg.toml, bench/villages/hameau.toml; the week of Monday
12 January 2026 under the ``cold`` preset (every night below −5 °C) and the ``mild`` preset; seeds 1, 2, 3
(each changes the weather, the clouds, the no-shows drawn, the presence detectors and the sensor noise).

Prints, per run and per zone, the kWh of the rules, the programmer (with its tuned lead) and always-confort,
the occupied hours below target − 0.5 °C (and % of occupied time, outside injected sensor outages) of each,
the savings, then the medians and the acceptance criteria of issue 10, stated as met or not met:
the median saving against the programmer ≥ 10 %, and in every zone of every run the rules' occupied time
below target ≤ 1 % (outside outages). ``--json`` prints one object for machines. Runs go to ``--jobs``
worker processes; the wall time is printed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VILLAGES = [
    ROOT / "examples" / "village.toml",
    ROOT / "bench" / "villages" / "bourg.toml",
    ROOT / "bench" / "villages" / "hameau.toml",
]
SAVING_TARGET_PCT = 10.0
COMFORT_LIMIT_PCT = 1.0


def one_run(job: tuple[str, str, int, float, float]) -> dict[str, Any]:
    """One village, one week, one seed (in a worker process): the per-zone summary of ``simulate``."""
    from gateway.commands.simulate import with_options
    from gateway.config import load_config
    from gateway.simulate import simulate

    path, week, seed, days, warmup = job
    config = with_options(load_config(path), seed=seed, weather=week)
    started = time.perf_counter()
    result = simulate(config, days=days, warmup_days=warmup)
    seconds = time.perf_counter() - started
    programmer, always = result["baselines"]["programmer"], result["baselines"]["always_confort"]
    zones = {}
    for key, z in result["zones"].items():
        p, a = programmer["zones"][key], always["zones"][key]
        zones[key] = {
            "comfort_on": z["comfort_on"],
            "lead_h": programmer["leads_h"][key],
            "lead_found": key not in programmer["leads_not_found"],
            "occupied_h": z["occupied_hours"],
            "rules": _side(z),
            "programmer": _side(p),
            "always_confort": _side(a),
            "saving_vs_programmer_pct": _pct(z["heating_kwh"], p["heating_kwh"]),
            "saving_vs_always_pct": _pct(z["heating_kwh"], a["heating_kwh"]),
        }
    totals = result["totals"]
    return {
        "village": Path(path).stem,
        "week": week,
        "seed": seed,
        "seconds": round(seconds, 1),
        "weather": result["weather"],
        "rules_kwh": totals["heating_kwh"],
        "programmer_kwh": totals["programmer_kwh"],
        "always_kwh": totals["baseline_kwh"],
        "saving_vs_programmer_pct": totals["saving_vs_programmer_pct"],
        "saving_vs_always_pct": totals["saving_vs_always_pct"],
        "zones": zones,
    }


def _side(z: dict[str, Any]) -> dict[str, Any]:
    return {
        "kwh": z["heating_kwh"],
        "below_h": z["occupied_hours_below_target"],
        "below_pct": z["occupied_pct_below_target"],
        "below_in_outages_h": z["below_target_hours_in_outages"],
        "below_in_windows_h": z["below_target_hours_in_windows"],
        "late_starts": z["late_starts"],
        "switches": z["relay_switches"],
        "balance_kwh": round(z["heating_kwh"] + z["gains_kwh"] - z["loss_kwh"] - z["stored_change_kwh"], 2),
    }


def _pct(kwh: float, against: float) -> float:
    return round(100 * (1 - kwh / against), 1) if against > 0 else 0.0


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the runs and the acceptance criteria of issue 10."""
    vs_prog = [r["saving_vs_programmer_pct"] for r in runs]
    vs_always = [r["saving_vs_always_pct"] for r in runs]
    per_zone: dict[str, list[float]] = {}
    uncomfortable = []
    for r in runs:
        for key, z in r["zones"].items():
            per_zone.setdefault(f"{r['village']}:{key}", []).append(z["saving_vs_programmer_pct"])
            if z["rules"]["below_pct"] > COMFORT_LIMIT_PCT:
                run = f"{r['village']}/{r['week']}/{r['seed']}"
                uncomfortable.append({"run": run, "zone": key, "below_pct": z["rules"]["below_pct"]})
    median = statistics.median(vs_prog) if vs_prog else 0.0
    return {
        "median_saving_vs_programmer_pct": round(median, 1),
        "median_saving_vs_always_pct": round(statistics.median(vs_always), 1) if vs_always else 0.0,
        "median_saving_vs_programmer_by_zone_pct": {k: round(statistics.median(v), 1) for k, v in per_zone.items()},
        "criteria": {
            "saving_met": median >= SAVING_TARGET_PCT,
            "comfort_met": not uncomfortable,
            "zones_over_comfort_limit": uncomfortable,
        },
    }


def _print(runs: list[dict[str, Any]], summary: dict[str, Any], wall: float, jobs: int) -> None:
    for r in runs:
        w = r["weather"]
        print(
            f"\n== {r['village']} / {r['week']} / seed {r['seed']}: outdoor mean {w['mean_outdoor_c']} °C, min "
            f"{w['min_outdoor_c']} °C, {w['degree_days']} DJU; {r['seconds']} s"
        )
        print(
            f"{'zone':<22}{'rules':>8}{'prog':>8}{'lead':>6}{'always':>8}{'vs prog':>9}{'vs alw':>8}"
            f"{'occ h':>7}{'rules below':>13}{'prog below':>12}{'alw below':>11}"
        )
        for key, z in r["zones"].items():
            ru, pr, al = z["rules"], z["programmer"], z["always_confort"]
            lead = f"{z['lead_h']:g}" + ("" if z["lead_found"] else "!")
            print(
                f"{key:<22}{ru['kwh']:>8}{pr['kwh']:>8}{lead:>6}{al['kwh']:>8}{z['saving_vs_programmer_pct']:>8}%"
                f"{z['saving_vs_always_pct']:>7}%{z['occupied_h']:>7}"
                f"{ru['below_h']:>7} {ru['below_pct']:>4}%{pr['below_h']:>6} {pr['below_pct']:>4}%"
                f"{al['below_h']:>5} {al['below_pct']:>4}%"
            )
        print(
            f"{'total':<22}{r['rules_kwh']:>8}{r['programmer_kwh']:>8}{'':>6}{r['always_kwh']:>8}"
            f"{r['saving_vs_programmer_pct']:>8}%{r['saving_vs_always_pct']:>7}%"
        )
    print(
        "\n(lead '!': no lead had every occupancy on time;"
        " below: hours, and % of occupied time outside outages and airing)"
    )
    print("\nmedian saving per zone against the programmer:")
    for key, value in summary["median_saving_vs_programmer_by_zone_pct"].items():
        print(f"  {key:<32}{value:>7} %")
    crit = summary["criteria"]
    print(
        f"\nmedian saving against the tuned programmer: {summary['median_saving_vs_programmer_pct']} % "
        f"(target >= {SAVING_TARGET_PCT:g} %): {'MET' if crit['saving_met'] else 'NOT MET'}"
    )
    print(f"median saving against always-confort: {summary['median_saving_vs_always_pct']} %")
    over = crit["zones_over_comfort_limit"]
    print(
        f"comfort (rules' occupied time below target <= {COMFORT_LIMIT_PCT:g} % in every zone, outside outages): "
        f"{'MET' if crit['comfort_met'] else f'NOT MET in {len(over)} zone-runs'}"
    )
    for item in over:
        print(f"  {item['run']:<24}{item['zone']:<24}{item['below_pct']:>7} %")
    print(f"\n{len(runs)} runs in {wall:.0f} s wall time with {jobs} worker process(es)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--villages", nargs="+", default=[str(v) for v in VILLAGES])
    parser.add_argument("--weeks", nargs="+", default=["cold", "mild"], choices=["cold", "mild", "january"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--warmup-days", type=float, default=7.0)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")
    parser.add_argument("--out", help="also write the JSON object to this file")
    args = parser.parse_args(argv)
    jobs = [(v, w, s, args.days, args.warmup_days) for v in args.villages for w in args.weeks for s in args.seeds]
    started = time.perf_counter()
    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            runs = list(pool.map(one_run, jobs))
    else:
        runs = [one_run(job) for job in jobs]
    wall = time.perf_counter() - started
    summary = summarise(runs)
    out = {"runs": runs, **summary, "wall_s": round(wall, 1), "jobs": args.jobs}
    if args.out:
        Path(args.out).write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.json:
        json.dump(out, sys.stdout, ensure_ascii=False)
        print()
    else:
        _print(runs, summary, wall, args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
