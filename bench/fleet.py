"""Fleet benchmark: 50 villages upload to one central VictoriaMetrics with staggered outages.

Usage: ``.venv/bin/python bench/fleet.py [--gateways 50] [--days 2] [--demo-load]``

Prints the central server's ingest rate, the catch-up rate after the last outage, and the
bytes each gateway sent (gzip) per value and per day of data.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support helpers

from tests.support.fleet import LIGHT, run_fleet
from tests.support.upload_harness import DEMO_DEVICES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateways", type=int, default=50)
    parser.add_argument("--days", type=float, default=2)
    parser.add_argument("--demo-load", action="store_true", help="the demo village's full load per gateway")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # one warning per sink outage would drown the figures
    devices = DEMO_DEVICES if args.demo_load else LIGHT
    with tempfile.TemporaryDirectory() as tmp:
        report = asyncio.run(run_fleet(Path(tmp), gateways=args.gateways, days=args.days, steps=12, devices=devices))
    print(report.summary())
    per_day = sum(report.bytes_per_gateway) / len(report.bytes_per_gateway) / args.days
    lines_per_day = report.readings / args.gateways / args.days
    print(f"per gateway: {per_day / 1e3:.1f} kB/day of gzip upload for {lines_per_day:.0f} lines/day")
    if report.missing or report.extra:
        sys.exit(1)


if __name__ == "__main__":
    main()
