"""Power-cut benchmark: the real daemon SIGKILLed 200+ times at random moments.

Usage: ``.venv/bin/python bench/powercut.py [--cycles 200] [--rate 2000] [--commit-interval 1.0]``

Prints how many points the journal acknowledged, how many reached the server, acknowledged
points lost (must be 0), duplicates (must be 0), integrity failures (must be 0), and the
distribution of unacknowledged points lost per cut (the last group-commit window).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support helpers

from tests.support.influx_servers import start_influxd
from tests.support.powercut import run_campaign


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--rate", type=int, default=2000, help="synthetic points per second")
    parser.add_argument("--commit-interval", type=float, default=1.0, help="journal group commit, seconds")
    parser.add_argument("--kill-after", type=float, default=3.0, help="latest kill, seconds after start-up")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with start_influxd(tmp / "influxd") as server:
            started = time.monotonic()
            report = run_campaign(
                tmp / "state",
                server,
                cycles=args.cycles,
                rate=args.rate,
                kill_window_s=(0.05, args.kill_after),
                commit_interval_s=args.commit_interval,
                seed=int(time.time()),
            )
            took = time.monotonic() - started
    lost = sorted(report.unacked_lost)
    print(report.summary())
    print(f"commit interval {args.commit_interval} s, {args.rate} points/s: unacknowledged loss per cut "
          f"p50 {lost[len(lost) // 2]}, p90 {lost[int(len(lost) * 0.9)]}, max {lost[-1]} points "
          f"(max {lost[-1] / args.rate:.2f} s of data: the commit interval plus the commit's own duration "
          f"and scheduling delay); {took:.0f} s")  # fmt: skip
    if report.lost_acknowledged or report.duplicates or report.integrity_failures:
        print("FAILED:", report.integrity_failures[:5])
        sys.exit(1)


if __name__ == "__main__":
    main()
