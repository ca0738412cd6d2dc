"""gateway/storage: one way to open, migrate, check and move aside a SQLite file, and its one thread."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from gateway import storage
from gateway.control.settings_store import SettingsStore
from gateway.storage import Pragmas, Schema, SqliteThread, UnusableFileError, script

SCHEMA = Schema("test", 2, {0: script("CREATE TABLE a (x); CREATE TABLE b (y)"), 1: script("ALTER TABLE a ADD z")})


def test_a_new_file_is_created_at_the_current_version_with_its_pragmas(tmp_path: Path) -> None:
    db, check_due = storage.connect(tmp_path / "s.sqlite", schema=SCHEMA, pragmas=Pragmas(page_size=1024))
    assert not check_due
    assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA page_size").fetchone()[0] == 1024
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    db.close()


def test_a_failed_step_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    db, _ = storage.connect(path, schema=Schema("test", 1, SCHEMA.migrations), pragmas=Pragmas())
    db.close()

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(sqlite3.OperationalError):  # not damage: raised as it is, the file stays
        storage.connect(path, schema=Schema("test", 2, {**SCHEMA.migrations, 1: broken}), pragmas=Pragmas())
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0
    db.close()


@pytest.mark.parametrize(("content", "suffix"), [(b"not a database " * 300, "corrupt"), (None, "newer")])
def test_damage_and_newer_files_are_unusable_and_moved_aside(tmp_path: Path, content: bytes | None,
                                                              suffix: str) -> None:
    path = tmp_path / "s.sqlite"
    if content is None:
        db = sqlite3.connect(path)
        db.execute("PRAGMA user_version = 9")
        db.close()
    else:
        path.write_bytes(content)
    with pytest.raises(UnusableFileError) as caught:
        storage.connect(path, schema=SCHEMA, pragmas=Pragmas(), full_check_below=1 << 20)
    assert caught.value.suffix == suffix
    moved = storage.move_aside(path, caught.value.suffix)
    assert moved.name.startswith(f"s.sqlite.{suffix}-")
    assert moved.exists()
    assert not path.exists()


def test_a_large_file_is_due_a_deferred_check(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    storage.connect(path, schema=SCHEMA, pragmas=Pragmas())[0].close()
    db, check_due = storage.connect(path, schema=SCHEMA, pragmas=Pragmas(), quick_check="deferred")
    assert check_due
    storage.check_integrity(db, path, "quick_check")  # ok: no exception
    db.close()


async def test_one_thread_owns_the_connection() -> None:
    owner = SqliteThread("test")
    seen = {owner.call(threading.get_ident), await owner.acall(threading.get_ident)}
    assert len(seen) == 1
    assert threading.get_ident() not in seen
    closed: list[bool] = []
    owner.close(lambda: closed.append(True))
    assert closed == [True]
    with pytest.raises(RuntimeError):
        owner.call(threading.get_ident)


def test_the_settings_store_uses_it_and_keeps_its_api(tmp_path: Path) -> None:
    path = tmp_path / "settings.sqlite"
    path.write_bytes(b"what a power cut left " * 500)
    store = SettingsStore.open(path)
    assert store.recovered is not None
    assert "moved aside as settings.sqlite.corrupt-" in store.recovered
    assert store._db.execute("PRAGMA user_version").fetchone()[0] == 2
    store.close()
