"""A versioned SQLite file on the SD card: open, pragmas, migrations, integrity, damage, move-aside.

Rules of this module:
- :func:`connect` opens a file with the store's :class:`Pragmas` (WAL always), checks it and brings
  its schema to :attr:`Schema.version`, one transaction per step (``BEGIN IMMEDIATE`` ... ``COMMIT``;
  a failed step leaves the file as it was);
- a file that exists but cannot be used — not a database, malformed pages, a failed check, WAL
  refused, a schema from a newer gateway — raises :class:`UnusableFileError` (its ``suffix`` says
  ``corrupt`` or ``newer``): the store moves it aside with :func:`move_aside` and starts afresh;
- a file that cannot be opened for a reason that is **not** damage (disk full, locked, I/O error,
  permissions) raises ``sqlite3.Error``/``OSError`` unchanged: the store leaves it alone and runs
  without it (or in memory) until the next start; :func:`is_corruption` tells the two apart for
  errors met later;
- functions here run on the store's own thread (see :mod:`gateway.storage.owner`).

Example::

    SCHEMA = Schema("archive", 1, {0: script("CREATE TABLE series (...);")})
    db, check_due = connect(path, schema=SCHEMA, pragmas=Pragmas(synchronous="NORMAL"), quick_check="open")
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from gateway.sqlite_tx import rollback

log = logging.getLogger("gateway.storage")

_CORRUPTION_CODES = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB
_WAL_FRAME_HEADER = 24

Migration = Callable[[sqlite3.Connection], None]


class UnusableFileError(Exception):
    """The file exists but cannot be used: move it aside (``suffix``: ``corrupt`` or ``newer``)."""

    def __init__(self, reason: str, suffix: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.suffix = suffix


class NewerSchemaError(RuntimeError):
    """The file was written by a newer version of the gateway."""


@dataclass(frozen=True, slots=True)
class Schema:
    """A store's layout: its name (for messages), the version this code writes, and the steps to it.

    ``migrations[v]`` takes a file from version ``v`` to ``v + 1`` inside the caller's transaction
    (version 0 is an empty file).
    """

    name: str
    version: int
    migrations: Mapping[int, Migration]


@dataclass(frozen=True, slots=True)
class Pragmas:
    """How a store's file is used; see docs/storage.md for each choice."""

    synchronous: Literal["FULL", "NORMAL"] = "FULL"  # FULL: a committed transaction survives a power cut
    page_size: int | None = None  # for a new file (an existing one keeps its own)
    cache_kib: int = 2048  # page cache: memory stays flat whatever the file's size
    # Debian's SQLite zeroes every freed page (SECURE_DELETE): FAST only zeroes what is written anyway
    secure_delete_fast: bool = True
    # WAL checkpointed at about this many bytes and cut back to it afterwards (None: SQLite's default)
    wal_bytes: int | None = None


def script(sql: str) -> Migration:
    """A migration step from SQL statements separated by ``;`` (no triggers: split naively).

    Not ``executescript``: it would COMMIT the step's transaction half-way.
    """

    def step(db: sqlite3.Connection) -> None:
        for statement in sql.split(";"):
            if statement.strip():
                db.execute(statement)

    return step


def is_corruption(exc: sqlite3.Error) -> bool:
    """A damaged file (as opposed to a full or failing disk, which may recover by itself)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return (code is not None and code & 0xFF in _CORRUPTION_CODES) or "malformed" in str(exc)


def user_version(db: sqlite3.Connection) -> int:
    """The schema version stored in the file."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite3.Connection, schema: Schema) -> list[int]:
    """Bring the file to ``schema.version``; return the versions it went through (empty if none).

    ``db`` must be in autocommit mode (``isolation_level=None``).
    """
    version = user_version(db)
    if version > schema.version:
        raise NewerSchemaError(f"{schema.name} schema v{version} is newer than this gateway's v{schema.version}")
    steps: list[int] = []
    while version < schema.version:
        db.execute("BEGIN IMMEDIATE")
        try:
            schema.migrations[version](db)
            db.execute(f"PRAGMA user_version = {version + 1}")
            db.execute("COMMIT")
        except BaseException:
            rollback(db)  # SQLite may have rolled back already (SQLITE_FULL): keep the error that matters
            raise
        version += 1
        steps.append(version)
    return steps


def _apply(db: sqlite3.Connection, pragmas: Pragmas, *, new: bool, memory: bool) -> None:
    if new and pragmas.page_size:
        db.execute(f"PRAGMA page_size = {int(pragmas.page_size)}")
    db.execute(f"PRAGMA cache_size = -{int(pragmas.cache_kib)}")
    if pragmas.secure_delete_fast:
        db.execute("PRAGMA secure_delete = FAST")
    # auto_vacuum stays NONE: freed pages are reused in place (no pointer-map page written per commit)
    mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if not memory and str(mode).lower() != "wal":
        raise UnusableFileError(f"cannot use WAL mode (got {mode})", "corrupt")
    db.execute(f"PRAGMA synchronous = {pragmas.synchronous}")
    if pragmas.wal_bytes:
        page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
        frames = max(8, pragmas.wal_bytes // (page_size + _WAL_FRAME_HEADER))
        db.execute(f"PRAGMA wal_autocheckpoint = {frames}")  # fewer checkpoints: fewer rewrites of hot pages
        db.execute(f"PRAGMA journal_size_limit = {int(pragmas.wal_bytes)}")


def connect(
    path: Path | str,
    *,
    schema: Schema,
    pragmas: Pragmas,
    full_check_below: int = 0,
    quick_check: Literal["open", "deferred", "never"] = "never",
    check_same_thread: bool = True,
) -> tuple[sqlite3.Connection, bool]:
    """Open, check and migrate ``path``; return the connection and whether a deferred check is due.

    A file smaller than ``full_check_below`` bytes gets ``PRAGMA integrity_check`` now; a larger
    one ``quick_check`` now (``"open"``), later on the store's thread (``"deferred"``: the second
    value is then ``True``), or not at all.
    """
    memory = str(path) == ":memory:"
    db = sqlite3.connect(str(path), isolation_level=None, timeout=30.0,  # sqlite3.Error: cannot open
                         check_same_thread=check_same_thread)
    check_due = False
    try:
        size = 0 if memory else Path(str(path)).stat().st_size
        _apply(db, pragmas, new=not size, memory=memory)
        if size and size < full_check_below:
            check_integrity(db, path, "integrity_check")
        elif size and quick_check == "open":
            check_integrity(db, path, "quick_check")
        elif size:
            check_due = quick_check == "deferred"
        migrate(db, schema)
    except NewerSchemaError as exc:
        db.close()
        raise UnusableFileError(str(exc), "newer") from exc
    except sqlite3.OperationalError as exc:
        db.close()
        if is_corruption(exc):
            raise UnusableFileError(str(exc), "corrupt") from exc
        raise  # disk full, locked, I/O: not damage; the caller leaves the file as it is
    except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed"
        db.close()
        raise UnusableFileError(str(exc), "corrupt") from exc
    except BaseException:
        db.close()
        raise
    return db, check_due


def check_integrity(db: sqlite3.Connection, path: Path | str, pragma: str) -> None:
    """Run ``integrity_check`` or ``quick_check``; raise :class:`UnusableFileError` unless ok."""
    size = Path(str(path)).stat().st_size
    started = time.monotonic()
    result = [str(row[0]) for row in db.execute(f"PRAGMA {pragma}(20)")]
    if result != ["ok"]:
        raise UnusableFileError(f"{pragma}: {'; '.join(result)[:300]}", "corrupt")
    log.info("%s: %s ok (%.1f MB, %.2f s)", path, pragma, size / 1e6, time.monotonic() - started)


def move_aside(path: Path, suffix: str, *, now: datetime | None = None) -> Path:
    """Rename ``path`` (and its ``-wal``/``-shm``) to ``<name>.<suffix>-<UTC time>``; return the new name."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.{suffix}-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.{suffix}-{stamp}.{n}")
        n += 1
    for extra in ("", "-wal", "-shm"):
        source = Path(f"{path}{extra}")
        if source.exists():
            with contextlib.suppress(OSError):
                os.replace(source, f"{target}{extra}")
    return target


def on_disk(path: Path | str) -> int:
    """Bytes a store occupies: database file, WAL and WAL index."""
    total = 0
    for extra in ("", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            total += os.stat(f"{path}{extra}").st_size
    return total
