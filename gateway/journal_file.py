"""The journal's file: open with the right settings, check, move aside, recognise damage.

Rules of this module:
- functions here run on the journal's thread (they do SQLite and file I/O);
- a file that exists but cannot be used raises :class:`UnusableFileError` (the caller moves
  it aside with :func:`move_aside` and starts a fresh one); a file that cannot be opened at all
  raises ``sqlite3.Error``/``OSError`` (the caller falls back to memory);
- the settings are chosen for power-loss safety and for the SD card (see docs/storage.md).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from gateway import journal_schema

log = logging.getLogger("gateway.journal")

_CORRUPTION_CODES = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB


class UnusableFileError(Exception):
    """The file exists but cannot be used: move it aside (``suffix``: ``corrupt`` or ``newer``)."""

    def __init__(self, reason: str, suffix: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.suffix = suffix


def is_corruption(exc: sqlite3.Error) -> bool:
    """A damaged file (as opposed to a full or failing disk, which may recover by itself)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return (code is not None and code & 0xFF in _CORRUPTION_CODES) or "malformed" in str(exc)


def connect(path: Path | str, *, check_below: int) -> tuple[sqlite3.Connection, bool]:
    """Open, check (files under ``check_below`` bytes) and migrate.

    Returns the connection and whether a (deferred) ``quick_check`` is still due.
    """
    db = sqlite3.connect(str(path), isolation_level=None, timeout=30.0)  # sqlite3.Error: cannot open
    memory = str(path) == ":memory:"
    check_due = False
    try:
        size = 0 if memory else Path(str(path)).stat().st_size
        db.execute("PRAGMA cache_size = -2048")  # 2 MiB page cache: memory stays flat
        # Debian's and pyenv's SQLite zero every freed page (SECURE_DELETE): that doubles the writes
        # of deleting delivered rows; FAST only zeroes what is written anyway (measurements, not secrets)
        db.execute("PRAGMA secure_delete = FAST")
        # auto_vacuum stays NONE: freed pages are reused in place (no pointer-map page written
        # per commit); the file stays at its high-water mark, which the budget bounds
        mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if not memory and str(mode).lower() != "wal":
            raise UnusableFileError(f"cannot use WAL mode (got {mode})", "corrupt")
        db.execute("PRAGMA synchronous = FULL")  # fsync the WAL at each commit: survives power loss
        db.execute("PRAGMA wal_autocheckpoint = 2000")  # fewer checkpoints: fewer rewrites of hot pages
        db.execute("PRAGMA journal_size_limit = 16777216")  # the WAL file shrinks back after checkpoints
        if size:
            if size < check_below:
                check_integrity(db, path, "integrity_check")
            else:
                check_due = True
        journal_schema.migrate(db)
    except journal_schema.NewerSchemaError as exc:
        db.close()
        raise UnusableFileError(str(exc), "newer") from exc
    except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed", I/O on read
        db.close()
        raise UnusableFileError(str(exc), "corrupt") from exc
    except UnusableFileError:
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
    log.info("journal %s: %s ok (%.1f MB, %.2f s)", path, pragma, size / 1e6, time.monotonic() - started)


def move_aside(path: Path, suffix: str) -> Path:
    """Rename ``path`` (and its ``-wal``/``-shm``) to ``<name>.<suffix>-<UTC time>``; return the new name."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
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


def thread_written_bytes() -> int:
    """Bytes the calling thread caused to be written to disk so far (Linux; 0 elsewhere)."""
    try:
        with open("/proc/thread-self/io", encoding="ascii") as handle:
            return next(int(line.split()[1]) for line in handle if line.startswith("write_bytes:"))
    except (OSError, StopIteration, ValueError):
        return 0
