"""The settings store on a full disk: an edit is all or nothing, the error is SQLite's own, nothing moves."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from gateway.control.settings_store import SettingsStore
from gateway.control.values import SchedulePeriod

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


def test_a_store_that_cannot_be_migrated_for_a_reason_other_than_damage_is_not_moved_aside(tmp_path: Path) -> None:
    """A locked file (another writer holds it during an upgrade) is not a corrupt one: the edits stay."""
    path = tmp_path / "settings.sqlite"
    store = SettingsStore(path)
    store.set_week("mairie/bureaux", (SchedulePeriod(0, time(8), time(18), "comfort"),), user="maire", now=NOW)
    store.close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("ALTER TABLE overrides DROP COLUMN setpoint_c")
    other.execute("PRAGMA user_version = 1")  # an older gateway's file: the start migrates it
    other.execute("BEGIN IMMEDIATE")  # someone else writes meanwhile (a tool, an admin's sqlite3 shell)
    try:
        standing_in = SettingsStore.open(path, now=NOW)
        assert standing_in.recovered is not None
        assert "locked" in standing_in.recovered
        assert "left untouched" in standing_in.recovered
        assert standing_in.weeks() == {}  # the configured schedules apply meanwhile
        standing_in.close()
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert not any(".corrupt-" in p.name for p in tmp_path.iterdir())
    store = SettingsStore.open(path, now=NOW)  # free again: migrated, the edit is there
    assert store.recovered is None
    assert list(store.weeks()) == ["mairie/bureaux"]
    store.close()
