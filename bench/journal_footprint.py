"""The journal's footprint on disk against its budget, with a sink that never delivers.

Usage: ``.venv/bin/python bench/journal_footprint.py [--budget-mb 1 4 16 64 256] [--window 5000] [--commits 60]``

For each budget: commits ``--commits`` windows of ``--window`` meter points (the sink down,
so every commit past the budget drops the oldest), and prints the peak of database + WAL +
WAL index after any commit (must be at most the budget), the share of each file at that peak,
the pages in use at the end and the points kept.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.clock import SystemClock
from gateway.journal import Journal
from gateway.metrics import Metrics
from tests.unit.test_journal import reading

MB = 1024 * 1024


def measure(budget_mb: float, window: int, commits: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.sqlite"
        journal = Journal(path, sinks=("remote",), metrics=Metrics(), clock=SystemClock(),
                          budget_bytes=int(budget_mb * MB))
        peak = [0, 0, 0]
        for n in range(commits):
            for i in range(n * window, (n + 1) * window):
                journal.append(reading(i))
            journal.commit()
            sizes = [os.path.getsize(f"{path}{e}") if os.path.exists(f"{path}{e}") else 0 for e in ("", "-wal", "-shm")]
            if sum(sizes) > sum(peak):
                peak = sizes
        stats = journal.stats()
        remote = stats.sinks["remote"]
        journal.close()
    return (f"budget {budget_mb:g} MB: peak on disk {sum(peak) / MB:.2f} MB (db {peak[0] / MB:.2f}, wal "
            f"{peak[1] / MB:.2f}, shm {peak[2] / MB:.2f}), pages in use {stats.used_bytes / MB:.2f} MB, "
            f"points kept {remote.backlog}, dropped {remote.dropped}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-mb", type=float, nargs="+", default=[1, 4, 16, 64, 256])
    parser.add_argument("--window", type=int, default=5000)
    parser.add_argument("--commits", type=int, default=60)
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # the budget's own error line per episode is expected
    for budget in args.budget_mb:
        print(measure(budget, args.window, max(args.commits, int(budget * MB / 100 / args.window * 1.5))), flush=True)


if __name__ == "__main__":
    main()
