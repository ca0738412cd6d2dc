"""The settings store on a full disk: an edit is all or nothing, the error is SQLite's own, nothing moves."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from gateway.control import SchedulePeriod
from gateway.settings_store import SettingsStore

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_an_edit_on_a_full_disk_changes_nothing_and_says_why(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "settings.sqlite")
    week = tuple(SchedulePeriod(d, time(8), time(18), "comfort") for d in range(5))
    store.set_week("mairie/bureaux", week, user="maire", now=NOW)
    version, audit = store.version, store.audit()
    db = store._db  # test seam: SQLite's own SQLITE_FULL (the file may not grow), as on a full card
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
    longer = tuple(SchedulePeriod(d, time(7), time(19), "comfort" * 200) for d in range(7))
    for i in range(30):
        with pytest.raises(sqlite3.OperationalError, match="full"):  # not "cannot rollback"
            store.set_week(f"ecole/classe-{i}", longer, user="maire", now=NOW)
    assert not db.in_transaction
    assert store.version == version  # the control loop is not told of a change that did not happen
    assert store.audit() == audit  # no audit row without its change
    assert store.weeks() == {"mairie/bureaux": week}
    db.execute("PRAGMA max_page_count = 1000000")
    store.set_week("ecole/classe-0", longer, user="maire", now=NOW)  # room again: works
    assert store.version == version + 1
    store.close()
