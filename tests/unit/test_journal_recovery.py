"""Integrity at open: a corrupt or unopenable journal never stops the daemon; schema migrations."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from gateway import journal_blocks, journal_schema, lineproto
from gateway.clock import SystemClock
from gateway.journal import Journal
from gateway.metrics import Metrics
from gateway.model import Event

from .test_journal import reading


def open_journal(path: Path, sinks: tuple[str, ...] = ("local",)) -> Journal:
    return Journal(path, sinks=sinks, metrics=Metrics(), clock=SystemClock())


def filled(path: Path, count: int = 3000) -> None:
    journal = open_journal(path)
    for i in range(count):
        journal.append(reading(i))
    journal.commit()
    journal.close()


def v1_file(path: Path, rows: int, *, local_cursor: int | None = 20) -> sqlite3.Connection:
    """A journal as version 1 left it: ``rows`` readings in ``points`` and, unless ``None``, local's cursor
    at ``local_cursor``; the connection (autocommit) is returned open."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE points (id INTEGER PRIMARY KEY AUTOINCREMENT, line BLOB NOT NULL)")
    db.execute("CREATE TABLE cursors (sink TEXT PRIMARY KEY, last_id INTEGER NOT NULL) WITHOUT ROWID")
    db.executemany("INSERT INTO points (line) VALUES (?)", [(lineproto.encode(reading(i)),) for i in range(rows)])
    if local_cursor is not None:
        db.execute("INSERT INTO cursors VALUES ('local', ?)", (local_cursor,))
    db.execute("PRAGMA user_version = 1")
    return db


def corrupt_copies(path: Path) -> list[Path]:
    return sorted(p for p in path.parent.iterdir() if ".corrupt-" in p.name and not p.name.endswith(("-wal", "-shm")))


def test_garbage_file_is_moved_aside_and_a_fresh_journal_started(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    garbage = b"this is not a database, it is what a power cut left behind " * 200
    path.write_bytes(garbage)
    journal = open_journal(path)
    events: list[Event] = []
    journal.set_event_handler(events.append)  # the service does this with core.raise_event
    (kept,) = corrupt_copies(path)
    assert kept.read_bytes() == garbage  # kept as it was, for analysis
    assert journal.stats().recovered_from == str(kept)
    assert [(e.kind, e.severity) for e in events] == [("journal_recovered", "alarm")]
    journal.append(reading(1))
    assert journal.commit() == 1  # and the fresh journal works
    assert journal.fetch_sync("local")[0].line == lineproto.encode(reading(1))
    journal.close()


def test_damaged_pages_inside_a_valid_file_are_caught_by_the_integrity_check(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    filled(path)
    size = path.stat().st_size
    with path.open("r+b") as handle:  # scribble over b-tree pages in the middle of the file
        for offset in range(2 * 4096, size - 4096, 4 * 4096):
            handle.seek(offset)
            handle.write(b"\xde\xad\xbe\xef" * 256)
    journal = open_journal(path)
    assert len(corrupt_copies(path)) == 1
    assert journal.stats().rows == 0
    assert journal.stats().durable
    journal.close()


def test_a_journal_that_cannot_be_opened_falls_back_to_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the state directory should be")
    journal = open_journal(blocker / "journal.sqlite")
    events: list[Event] = []
    journal.set_event_handler(events.append)
    assert not journal.stats().durable
    assert [e.kind for e in events] == ["journal_unavailable"]
    journal.append(reading(1))
    assert journal.commit() == 1
    assert len(journal.fetch_sync("local")) == 1  # sinks keep working
    journal.close()


def test_an_in_memory_journal_reports_what_it_loses_at_stop(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the state directory should be")
    metrics = Metrics()
    journal = Journal(blocker / "journal.sqlite", sinks=("local",), metrics=metrics, clock=SystemClock())
    for i in range(10):
        journal.append(reading(i))
    journal.commit()
    journal.advance_sync("local", 4)  # 6 committed in memory, never delivered
    journal.append(reading(10))  # and one not even committed
    with caplog.at_level(logging.ERROR, "gateway.journal"):
        journal.close()
    assert "journal: 7 readings held in memory could not be written to disk" in caplog.text
    assert metrics.get("gateway_journal_lost_total") == 7


def test_a_journal_from_a_newer_gateway_is_kept_aside(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    filled(path, 10)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {journal_schema.VERSION + 5}")
    db.close()
    journal = open_journal(path)
    assert any(".newer-" in p.name for p in tmp_path.iterdir())
    assert journal.stats().rows == 0
    journal.close()


def test_an_empty_v0_file_is_created_at_the_current_version(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    path.touch()
    open_journal(path).close()
    db = sqlite3.connect(path)
    assert journal_schema.user_version(db) == journal_schema.VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_a_v1_file_is_migrated_with_its_rows_and_cursors(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    v1_file(path, 50).close()

    journal = open_journal(path, sinks=("local", "remote"))
    stats = journal.stats()
    assert stats.sinks["local"].cursor == 20
    assert stats.sinks["local"].backlog == 30
    assert stats.sinks["local"].dropped == 0
    assert stats.sinks["remote"].backlog == 30  # a new sink starts where the others stand
    rows = journal.fetch_sync("local")
    assert [r.line for r in rows] == [lineproto.encode(reading(i)) for i in range(20, 50)]
    journal.close()
    db = sqlite3.connect(path)
    assert journal_schema.user_version(db) == journal_schema.VERSION
    lines = [line for _id, line in journal_blocks.rows_after(db, journal_blocks.segments(db), 0)]
    assert lines == [lineproto.encode(reading(i)) for i in range(50)]  # every row kept through v2, v3, v4
    (lo, hi), = db.execute("SELECT min(time_lo), max(time_hi) FROM blocks_0")
    assert (lo, hi) == (reading(0).time_ns, reading(49).time_ns)  # filled from each line's timestamp
    db.close()


def test_a_failed_migration_leaves_the_file_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = sqlite3.connect(tmp_path / "j.sqlite", isolation_level=None)
    journal_schema.migrate(db)  # to the current version
    db.execute("PRAGMA user_version = 1")

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setitem(journal_schema.MIGRATIONS, 1, broken)
    with pytest.raises(sqlite3.OperationalError):
        journal_schema.migrate(db)
    assert journal_schema.user_version(db) == 1
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0
    db.close()


def test_a_large_journal_is_checked_after_start_up_and_replaced_without_losing_the_id_sequence(
    tmp_path: Path,
) -> None:
    """Large files are checked on the journal thread after opening (start-up does not wait)."""
    path = tmp_path / "journal.sqlite"
    filled(path, 3000)
    journal = open_journal(path)
    journal.advance_sync("local", 1000)
    journal.close()
    db = sqlite3.connect(path)
    pages = [n for (n,) in db.execute(  # the compressed blocks' overflow pages
        "SELECT pageno FROM dbstat WHERE name = 'blocks_0' AND pagetype = 'overflow' ORDER BY path")]
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    db.close()
    with path.open("r+b") as handle:  # one page in the middle: opening works, the check finds it
        handle.seek((pages[len(pages) // 2] - 1) * page_size)
        handle.write(b"\xde\xad\xbe\xef" * (page_size // 4))
    metrics = Metrics()
    journal = Journal(path, sinks=("local",), metrics=metrics, clock=SystemClock(), check_at_open_below=0)
    events: list[Event] = []
    journal.set_event_handler(events.append)
    journal.append(reading(3000))
    journal.commit()  # queued behind the check on the journal thread
    assert [e.kind for e in events] == ["journal_recovered"]
    assert len(corrupt_copies(path)) == 1
    stats = journal.stats()
    assert stats.sinks["local"].dropped == 2000  # what local had not delivered is counted, not hidden
    assert metrics.get("gateway_journal_dropped_total", sink="local") == 2000
    (row,) = journal.fetch_sync("local")
    assert row.id == 3001  # ids continue: a sink holding old ids can still advance
    assert row.line == lineproto.encode(reading(3000))
    journal.close()


def test_a_migration_on_a_full_disk_keeps_the_file_and_runs_in_memory_until_there_is_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLITE_FULL during a migration is not damage: the file (and its unsent rows) stays where it is."""
    path = tmp_path / "journal.sqlite"
    v1_file(path, 2000).close()
    real = journal_schema.MIGRATIONS[1]

    def on_a_full_disk(conn: sqlite3.Connection) -> None:
        if conn.execute("PRAGMA database_list").fetchone()[2]:  # the file (not the in-memory fallback)
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow: SQLite's own SQLITE_FULL
        real(conn)

    monkeypatch.setitem(journal_schema.MIGRATIONS, 1, on_a_full_disk)
    journal = open_journal(path)
    assert not journal.stats().durable  # in memory for now, said by the journal_unavailable event
    journal.close()
    assert corrupt_copies(path) == []  # not taken for a corrupt file
    monkeypatch.setitem(journal_schema.MIGRATIONS, 1, real)
    journal = open_journal(path)  # room again: migrated, nothing lost
    assert journal.stats().durable
    assert journal.stats().sinks["local"].backlog == 1980
    journal.close()


def test_the_error_of_a_failed_migration_is_not_hidden_by_sqlites_own_rollback(tmp_path: Path) -> None:
    db = v1_file(tmp_path / "j.sqlite", 2000, local_cursor=None)
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(sqlite3.OperationalError, match="full"):  # not "cannot rollback"
        journal_schema.migrate(db)
    assert journal_schema.user_version(db) == 1
    db.close()
