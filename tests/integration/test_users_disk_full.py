"""The accounts file on a really full disk (issue 12): logins and logouts still work, and are written
when space comes back, with nobody touching the page.

The state directory is a 1 MB tmpfs (tests/support/small_tmpfs.py), filled to the last byte: the operating
system's own ENOSPC.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.small_tmpfs import run_on_small_tmpfs


def test_logins_and_logouts_survive_a_full_disk_and_are_written_when_space_returns(tmp_path: Path) -> None:
    state = tmp_path / "state"
    result = run_on_small_tmpfs(state, "tests.support.users_disk_full", size="1m", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    seen = json.loads(result.stdout)
    assert seen["disk_full"] == "No space left on device"
    # Then the mayor could log in on the full disk, and the secretary's logout took effect at once
    assert seen["login"] == "ok", seen
    assert seen["mayor_logged_in"] is True
    assert seen["logout"] == "ok", seen
    assert seen["secretary_logged_in"] is False
    assert seen["file_unchanged"] is True  # nothing half-written: the old file stands
    assert seen["temp_files_left"] == []
    # An account change is refused with the reason, and nothing changed
    assert seen["password_change"].startswith(f"cannot write {state}/users.json: No space left on device")
    assert seen["password_change"].endswith("nothing changed")
    assert seen["password_unchanged"] is True
    assert seen["unsaved"] == [1, 1, "No space left on device"]  # what the Système page says
    # When space came back, the retry wrote both, with nobody using the page
    assert seen["unsaved_after"] is None
    assert seen["sessions_after"] == {"maire": 1, "secretaire": 0}
    assert (seen["mayor_after"], seen["secretary_after"]) == (True, False)
    assert (seen["restart_mayor"], seen["restart_secretary"]) == (True, False)  # a restart now keeps them
    # said once when it started, once when it ended
    assert result.stderr.count("cannot write") == 1, result.stderr
    assert "can be written again: 1 logins and 1 logouts held in memory are saved" in result.stderr
