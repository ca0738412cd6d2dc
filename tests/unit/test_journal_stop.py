"""Stopping while the disk is full: a clean stop, and the readings it loses are counted, logged, reported.

SQLite's own limit (``PRAGMA max_page_count``) raises the SQLITE_FULL of a full card; the
last test fills a real (small, private) file system to get the operating system's ENOSPC.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gateway.clock import SystemClock
from gateway.journal import Journal
from gateway.metrics import Metrics
from gateway.model import Event, Reading

from .test_journal import on_journal_thread, reading

ROOT = Path(__file__).resolve().parents[2]


def journal_at(path: Path, metrics: Metrics | None = None) -> Journal:
    return Journal(path, sinks=("remote",), metrics=metrics or Metrics(), clock=SystemClock())


def fill_the_disk(journal: Journal) -> None:
    pages = on_journal_thread(journal, "PRAGMA page_count")
    on_journal_thread(journal, f"PRAGMA max_page_count = {pages}")


def test_while_commits_fail_the_stats_and_metrics_say_so(tmp_path: Path) -> None:
    metrics = Metrics()
    journal = journal_at(tmp_path / "journal.sqlite", metrics)
    journal.append(reading(0))
    journal.commit()
    assert not journal.stats().write_failing
    fill_the_disk(journal)
    for i in range(1, 2000):
        journal.append(reading(i))
    assert journal.commit() == 0
    assert journal.stats().write_failing
    assert metrics.get("gateway_journal_write_failing") == 1
    on_journal_thread(journal, "PRAGMA max_page_count = 1000000")
    assert journal.commit() == 1999
    assert not journal.stats().write_failing
    assert metrics.get("gateway_journal_write_failing") == 0
    journal.close()


def test_a_stop_on_a_full_disk_counts_logs_and_reports_the_loss_at_the_next_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "journal.sqlite"
    metrics = Metrics()
    journal = journal_at(path, metrics)
    journal.append(reading(0))
    journal.commit()
    fill_the_disk(journal)
    for i in range(1, 5001):  # compressed blocks: enough of them to need new pages
        journal.append(reading(i))
    with caplog.at_level(logging.ERROR, "gateway.journal"):
        journal.close()  # never raises
    lines = [r.getMessage() for r in caplog.records if "LOST" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].startswith("journal: 5000 readings held in memory could not be written at stop")
    assert metrics.get("gateway_journal_lost_total") == 5000
    # the next start says it again, as an alarm, and keeps the count
    metrics = Metrics()
    journal = journal_at(path, metrics)
    events: list[Event] = []
    journal.set_event_handler(events.append)
    assert journal.stats().lost == 5000
    assert metrics.get("gateway_journal_lost_total") == 5000
    assert [(e.kind, e.severity) for e in events] == [("journal_lost_at_stop", "alarm")]
    assert journal.stats().sinks["remote"].backlog == 1  # what was committed is all there
    journal.close()
    # counted once: a later start neither raises it again nor adds it twice
    journal = journal_at(path)
    events.clear()
    journal.set_event_handler(events.append)
    assert journal.stats().lost == 5000
    assert events == []
    journal.close()


_ENOSPC_CHILD = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from gateway.clock import SystemClock
    from gateway.journal import Journal
    from gateway.metrics import Metrics
    from tests.unit.test_journal import reading

    state = Path(sys.argv[1])
    path = state / "journal.sqlite"
    journal = Journal(path, sinks=("remote",), metrics=Metrics(), clock=SystemClock())
    for i in range(100):
        journal.append(reading(i))
    journal.commit()
    filler = state / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)  # the card is full: every byte of the file system taken
    try:
        while True:
            os.write(fd, b"x" * 4096)
    except OSError:
        pass
    os.close(fd)
    for i in range(100, 20_100):
        journal.append(reading(i))
    print("committed", journal.commit(), "failing", journal.stats().write_failing, flush=True)
    journal.close()  # the stop on a full disk
    print("ledger", (state / "journal.sqlite-lost").read_text().split()[:2], flush=True)
    filler.unlink()  # space again: the next start reports the loss
    events = []
    journal = Journal(path, sinks=("remote",), metrics=Metrics(), clock=SystemClock())
    journal.set_event_handler(events.append)
    print("next_start", journal.stats().lost, [e.kind for e in events], journal.stats().last_id, flush=True)
    journal.close()
""")


def test_a_stop_on_a_really_full_file_system_is_clean_and_reported(tmp_path: Path) -> None:
    """The operating system's ENOSPC on a 2 MB tmpfs mounted in a private namespace (no change outside)."""
    unshare = shutil.which("unshare")
    assert unshare, "util-linux's unshare is needed (Debian: essential package util-linux)"
    script = tmp_path / "child.py"
    script.write_text(_ENOSPC_CHILD)
    state = tmp_path / "state"
    state.mkdir()
    shell = f'mount -t tmpfs -o size=2m tmpfs "{state}" && exec "{sys.executable}" "{script}" "{state}" "{ROOT}"'
    result = subprocess.run([unshare, "--map-root-user", "--mount", "sh", "-c", shell],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    out = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert out["committed"] == "0 failing True"
    assert out["ledger"] == "['lost', '20000']"
    assert out["next_start"] == "20000 ['journal_lost_at_stop'] 100"
    assert "20000 readings held in memory could not be written at stop" in result.stderr


def test_a_reading_that_cannot_be_encoded_is_rejected_and_counted_not_the_window_lost(tmp_path: Path) -> None:
    metrics = Metrics()
    journal = journal_at(tmp_path / "journal.sqlite", metrics)
    bad = Reading("meter", (("site", "s"),), (("power_w", object()),), reading(0).time_ns)  # type: ignore[arg-type]
    journal.append(reading(0))
    journal.append(bad)
    journal.append(reading(1))
    assert journal.commit() == 2
    assert metrics.get("gateway_journal_rejected_total") == 1
    assert journal.stats().buffered == 0
    journal.close()
