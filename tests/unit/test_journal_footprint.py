"""The disk budget is the journal's whole footprint on the card: database file, WAL and WAL index."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.clock import SystemClock
from gateway.journal import Journal
from gateway.metrics import Metrics

from .test_journal import reading

MB = 1024 * 1024


def footprint(path: Path) -> int:
    return sum(os.stat(f"{path}{extra}").st_size for extra in ("", "-wal", "-shm") if os.path.exists(f"{path}{extra}"))


@pytest.mark.parametrize(("budget", "window"), [(1 * MB, 2000), (1 * MB, 10_000), (4 * MB, 8000)])
def test_the_files_on_disk_never_exceed_the_budget(tmp_path: Path, budget: int, window: int) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path, sinks=("remote",), metrics=Metrics(), clock=SystemClock(), budget_bytes=budget)
    peak = 0
    total = 0
    for _ in range(12):  # the remote server is down: the budget drops the oldest rows
        for i in range(total, total + window):
            journal.append(reading(i))
        journal.commit()
        total += window
        peak = max(peak, footprint(path))
        assert journal.stats().bytes_on_disk == footprint(path)  # what /metrics says is what is on disk
    remote = journal.stats().sinks["remote"]
    assert remote.dropped + remote.backlog == total
    assert remote.backlog > 0.6 * budget / 300  # most of the budget still holds points (~260 B each)
    journal.close()
    assert peak <= budget, f"{peak / MB:.2f} MB on disk for a budget of {budget / MB:.2f} MB"
