"""The real daemon on a really full disk: it stops cleanly (exit 0, no traceback) and says what it lost.

The state directory is a 4 MB tmpfs (tests/support/small_tmpfs.py), filled to the last byte while the
daemon runs: the operating system's own ENOSPC, as on a full SD card.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.small_tmpfs import run_on_small_tmpfs


def test_the_daemon_stops_cleanly_on_a_full_disk_and_reports_the_loss(tmp_path: Path) -> None:
    kept = tmp_path / "daemon.log"
    result = run_on_small_tmpfs(
        tmp_path / "state", "tests.support.disk_full_stop", size="4m", timeout=240, keep_log=kept
    )
    log = kept.read_text(errors="replace") if kept.exists() else ""
    assert result.returncode == 0, result.stdout + result.stderr + log[-4000:]
    assert result.stdout.split() == ["first", "0", "second", "0"], result.stdout + log[-4000:]
    assert "Traceback" not in log, log[-4000:]
    # the first life said what it could not write, with figures
    lost = re.search(r"journal: (\d+) readings held in memory could not be written at stop", log)
    assert lost, log[-4000:]
    assert int(lost.group(1)) > 0
    assert re.search(r"archive: the last flush failed at stop \(.*full.*\): \d+ hour rows", log), log[-4000:]
    # the second life reported it again (an alarm event, and /metrics: gateway_journal_lost_total)
    assert f"journal: {lost.group(1)} readings were lost at the last stop" in log, log[-4000:]
