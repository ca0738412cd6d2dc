"""Week-long outage benchmark: the demo village's full week held by the journal, then uploaded.

Usage: ``.venv/bin/python bench/outage.py [--days 7] [--budget-mb 256]``

Prints the local sink's worst catch-up after each simulated hour, RSS before and during the
drain, the journal's size against its budget, drops (must be 0), the drain rate, and the
exact comparison with the central server (missing/extra/order violations must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support helpers

from tests.support.outage import run_outage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--budget-mb", type=float, default=256)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # one warning per sink outage would drown the figures
    with tempfile.TemporaryDirectory() as tmp:
        report = asyncio.run(run_outage(Path(tmp), days=args.days, budget_mb=args.budget_mb))
    print(report.summary())
    if report.remote_missing or report.remote_extra or report.local_missing or report.order_violations:
        sys.exit(1)


if __name__ == "__main__":
    main()
