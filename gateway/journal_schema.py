"""The journal's SQLite schema, versioned with ``PRAGMA user_version``, and its migrations.

Rules of this module:
- :data:`VERSION` is the layout this code writes; every older layout has a migration
  step ``MIGRATIONS[v]`` taking a file from ``v`` to ``v + 1`` inside one transaction;
- a file from a *newer* gateway (downgrade) is not touched: :class:`NewerSchemaError`;
- functions here take a connection and run on the journal's thread; they never commit
  half a migration (``BEGIN IMMEDIATE`` ... ``COMMIT`` or rollback).

History:
- v0: an empty file (nothing created yet);
- v1: ``points(id, line)`` and ``cursors(sink, last_id)`` (the first layout);
- v2: ``points.time_ns`` (for lag and export without parsing), per-sink ``dropped``,
  ``delivered`` and ``last_success_ns`` persisted in ``cursors``, and a ``meta`` table;
  ``points`` without ``AUTOINCREMENT`` (the journal assigns dense ids itself and keeps the
  high-water mark in ``meta.last_id`` only when a delete empties the table: one page less
  written per group commit than ``sqlite_sequence``);
- v3: ``points`` split into segment tables ``points_<n>`` of :data:`SEGMENT_ROWS` ids each.
  Deleting delivered rows one by one rewrites every page they sit on (as many bytes as
  writing them); dropping a whole table only puts its pages on the free list (measured:
  103 MB written to delete 200,000 points, 0.07 MB to drop them). ``meta.last_id`` keeps
  the id sequence when no segment is left.
- v4: rows as compressed blocks (``gateway/journal_blocks.py``): segment tables ``blocks_<n>``
  of ``(first_id, last_id, time_lo, time_hi, data)``, one block per group commit and segment
  instead of one text row per reading. The migration packs each v3 segment's rows into blocks
  of consecutive ids (a gap starts a new block), nothing dropped; ids, cursors and counts stay.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator

from gateway import journal_blocks, storage
from gateway.journal_blocks import BLOCK_ROWS, SEGMENT_ROWS, block_table, segments
from gateway.storage import NewerSchemaError, Schema
from gateway.storage.sqlite_file import user_version

VERSION = 4

__all__ = ["MIGRATIONS", "SCHEMA", "SEGMENT_ROWS", "VERSION", "NewerSchemaError", "block_table", "last_id",
           "migrate", "segments", "user_version"]


_V1 = (
    "CREATE TABLE points (id INTEGER PRIMARY KEY AUTOINCREMENT, line BLOB NOT NULL)",
    "CREATE TABLE cursors (sink TEXT PRIMARY KEY, last_id INTEGER NOT NULL) WITHOUT ROWID",
)


def _lp_time(line: bytes | str | None) -> int:
    if line is None:
        return 0
    data = line if isinstance(line, bytes) else line.encode()
    try:
        return int(data[data.rindex(b" ") + 1 :])
    except ValueError:
        return 0


def _v0_to_v1(db: sqlite3.Connection) -> None:
    for statement in _V1:  # not executescript(): it would COMMIT the migration's transaction
        db.execute(statement)


def _v1_to_v2(db: sqlite3.Connection) -> None:
    db.create_function("lp_time", 1, _lp_time, deterministic=True)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID")
    db.execute("INSERT INTO meta (key, value) SELECT 'last_id',"
               " max(coalesce((SELECT max(id) FROM points), 0),"
               " coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'points'), 0))")
    db.execute("CREATE TABLE points_v2"
               " (id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, line BLOB NOT NULL)")
    db.execute("INSERT INTO points_v2 (id, time_ns, line) SELECT id, lp_time(line), line FROM points")
    db.execute("DROP TABLE points")
    db.execute("ALTER TABLE points_v2 RENAME TO points")
    for column in ("dropped INTEGER NOT NULL DEFAULT 0", "delivered INTEGER NOT NULL DEFAULT 0",
                   "last_success_ns INTEGER"):
        db.execute(f"ALTER TABLE cursors ADD COLUMN {column}")


def _v3_table(seq: int) -> str:
    """A v3 segment table (one row per reading)."""
    return f"points_{int(seq)}"


def _v3_segments(db: sqlite3.Connection) -> list[int]:
    names = db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'points_[0-9]*'")
    return sorted(int(name[len("points_"):]) for (name,) in names)


def last_id(db: sqlite3.Connection) -> int:
    """The last id committed (for tools and tests reading the file; the journal keeps it in memory)."""
    present = segments(db)
    return _last_id(db, f"SELECT max(last_id) FROM {block_table(present[-1])}" if present else None)  # noqa: S608


def _last_id(db: sqlite3.Connection, newest_query: str | None) -> int:
    """The high-water mark in ``meta`` or the newest segment's top id, whichever is further."""
    mark = db.execute("SELECT value FROM meta WHERE key = 'last_id'").fetchone()
    high = db.execute(newest_query).fetchone()[0] if newest_query else None
    return max(int(mark[0]) if mark else 0, int(high or 0))


def _v2_to_v3(db: sqlite3.Connection) -> None:
    db.execute("INSERT OR REPLACE INTO meta (key, value) SELECT 'last_id', max(coalesce("
               "(SELECT max(id) FROM points), 0), coalesce((SELECT value FROM meta WHERE key = 'last_id'), 0))")
    seqs = [int(seq) for (seq,) in db.execute("SELECT DISTINCT id / ? FROM points ORDER BY 1", (SEGMENT_ROWS,))]
    for seq in seqs:
        db.execute(f"CREATE TABLE {_v3_table(seq)}"
                   " (id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, line BLOB NOT NULL)")
        db.execute(f"INSERT INTO {_v3_table(seq)} (id, time_ns, line) SELECT id, time_ns, line"  # noqa: S608
                   " FROM points WHERE id >= ? AND id < ?", (seq * SEGMENT_ROWS, (seq + 1) * SEGMENT_ROWS))
    db.execute("DROP TABLE points")


def _v3_to_v4(db: sqlite3.Connection) -> None:
    """Pack each segment's rows into blocks of consecutive ids; every row kept, in order."""
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_id', ?)", (_v3_last_id(db),))
    for seq in _v3_segments(db):
        db.execute(journal_blocks.block_create(seq))
        present = [seq]  # insert() creates nothing more: ids stay inside their segment
        run: list[bytes] = []
        first = expected = -1
        query = db.execute(f"SELECT id, line FROM {_v3_table(seq)} ORDER BY id")  # noqa: S608
        for row_id, line in _rows(query):
            if run and (row_id != expected or len(run) >= BLOCK_ROWS):
                journal_blocks.insert(db, present, run, first)
                run = []
            if not run:
                first = row_id
            run.append(bytes(line))
            expected = row_id + 1
        if run:
            journal_blocks.insert(db, present, run, first)
        db.execute(f"DROP TABLE {_v3_table(seq)}")


def _rows(query: sqlite3.Cursor) -> Iterator[tuple[int, bytes]]:
    """A v3 segment's rows, fetched a page at a time (memory flat on a large journal)."""
    while batch := query.fetchmany(4096):
        for row_id, line in batch:
            yield int(row_id), bytes(line)


def _v3_last_id(db: sqlite3.Connection) -> int:
    present = _v3_segments(db)
    return _last_id(db, f"SELECT max(id) FROM {_v3_table(present[-1])}" if present else None)  # noqa: S608


#: ``MIGRATIONS[v]`` upgrades a file from version ``v`` to ``v + 1``.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    0: _v0_to_v1, 1: _v1_to_v2, 2: _v2_to_v3, 3: _v3_to_v4,
}


SCHEMA = Schema("journal", VERSION, MIGRATIONS)


def migrate(db: sqlite3.Connection) -> list[int]:
    """Bring the file to :data:`VERSION`; return the versions it went through (empty if none).

    ``db`` must be in autocommit mode (``isolation_level=None``).
    """
    return storage.migrate(db, SCHEMA)
