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
  written per group commit than ``sqlite_sequence``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

VERSION = 2


class NewerSchemaError(RuntimeError):
    """The file was written by a newer version of the gateway."""


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


#: ``MIGRATIONS[v]`` upgrades a file from version ``v`` to ``v + 1``.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {0: _v0_to_v1, 1: _v1_to_v2}


def user_version(db: sqlite3.Connection) -> int:
    """The schema version stored in the file."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite3.Connection) -> list[int]:
    """Bring the file to :data:`VERSION`; return the versions it went through (empty if none).

    ``db`` must be in autocommit mode (``isolation_level=None``).
    """
    version = user_version(db)
    if version > VERSION:
        raise NewerSchemaError(f"journal schema v{version} is newer than this gateway's v{VERSION}")
    steps: list[int] = []
    while version < VERSION:
        db.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[version](db)
            version += 1
            db.execute(f"PRAGMA user_version = {version}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        steps.append(version)
    return steps
