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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gateway import journal_schema
from gateway.sqlite_tx import rollback

log = logging.getLogger("gateway.journal")

_CORRUPTION_CODES = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB
#: Page size of a new journal. A group commit rewrites whole pages in the WAL (the leaf receiving
#: its block, the file header when the file grows, a free-list page), each again at checkpoint:
#: with 1 KiB pages a commit of a few readings writes ~3 KiB instead of ~12 KiB. A file created
#: with 4 KiB pages (v3 and before) keeps them: changing it needs a VACUUM, a full copy of the file.
PAGE_SIZE = 1024


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


_WAL_FRAME_HEADER = 24
_WAL_HEADER = 32
_SHM_BYTES = 32 * 1024  # the WAL index: 32 KiB per 4,096 WAL frames
LOW_WATER = 0.95  # a budget drop brings the pages in use down to this fraction of what they may take


@dataclass(frozen=True, slots=True)
class Footprint:
    """How a disk budget is shared between the database file, its WAL and its WAL index (``-shm``).

    The budget is everything the journal occupies on the card. The WAL is checkpointed every
    :attr:`wal_pages` pages and cut back to that size after each checkpoint; one transaction
    inserts at most :attr:`slice_bytes` of lines, so it adds at most that much to the WAL and to
    the file before the budget drops the oldest rows in the same transaction. What remains,
    :attr:`data_bytes`, is what the pages in use may take.

    >>> Footprint(256 * 1024 * 1024).wal_pages, Footprint(1024 * 1024).wal_pages
    (2000, 8)
    """

    budget: int
    page_size: int = 4096

    @property
    def wal_pages(self) -> int:
        """``wal_autocheckpoint``: large (fewer rewrites of hot pages) but at most 1/32 of the budget."""
        return max(8, min(2000, self.budget // 32 // self.page_size))

    @property
    def wal_bytes(self) -> int:
        """``journal_size_limit``: the WAL file's size once a checkpoint has reset it."""
        return _WAL_HEADER + self.wal_pages * (self.page_size + _WAL_FRAME_HEADER)

    def wal_frames(self, page_size: int) -> int:
        """``wal_autocheckpoint`` for a file of ``page_size`` pages: the same WAL bytes whatever the page size."""
        return max(8, (self.wal_bytes - _WAL_HEADER) // (page_size + _WAL_FRAME_HEADER))

    @property
    def slice_bytes(self) -> int:
        """Bytes of line protocol one transaction inserts at most (a larger window takes several)."""
        return max(16 * 1024, self.budget // 64)

    @property
    def data_bytes(self) -> int:
        """The pages in use may take this much; the rest is room for the WAL and one transaction.

        A transaction that goes over adds its rows (about 1.2x their lines in pages) to the file
        and to the WAL, and trims the oldest rows down to :data:`LOW_WATER` of this figure: the
        pages it modifies go to the WAL too, on top of the frames left before the checkpoint.
        """
        rows = 1.25 * self.slice_bytes + 16 * self.page_size  # new rows, b-tree and freelist pages, cursors
        fixed = self.wal_bytes + 2 * rows + _SHM_BYTES  # the WAL holds them, the file grows by them
        return max(self.budget // 4, int((self.budget - fixed) / (2 - LOW_WATER)))


def on_disk(path: Path | str) -> int:
    """Bytes the journal occupies: database file, WAL and WAL index."""
    total = 0
    for extra in ("", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            total += os.stat(f"{path}{extra}").st_size
    return total


def connect(
    path: Path | str, *, check_below: int, footprint: Footprint | None = None
) -> tuple[sqlite3.Connection, bool]:
    """Open, check (files under ``check_below`` bytes) and migrate.

    Returns the connection and whether a (deferred) ``quick_check`` is still due. ``footprint``
    sizes the WAL (the default: a 256 MB budget).
    """
    footprint = footprint or Footprint(256 * 1024 * 1024)
    db = sqlite3.connect(str(path), isolation_level=None, timeout=30.0)  # sqlite3.Error: cannot open
    memory = str(path) == ":memory:"
    check_due = False
    try:
        size = 0 if memory else Path(str(path)).stat().st_size
        if not size:  # a new file: small pages, so a small group commit writes little (see PAGE_SIZE)
            db.execute(f"PRAGMA page_size = {PAGE_SIZE}")
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
        # fewer checkpoints: fewer rewrites of hot pages; bounded by the budget, and cut back after each
        page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
        db.execute(f"PRAGMA wal_autocheckpoint = {footprint.wal_frames(page_size)}")
        db.execute(f"PRAGMA journal_size_limit = {footprint.wal_bytes}")
        if size:
            if size < check_below:
                check_integrity(db, path, "integrity_check")
            else:
                check_due = True
        journal_schema.migrate(db)
    except journal_schema.NewerSchemaError as exc:
        db.close()
        raise UnusableFileError(str(exc), "newer") from exc
    except sqlite3.OperationalError as exc:
        db.close()
        if is_corruption(exc):
            raise UnusableFileError(str(exc), "corrupt") from exc
        raise  # disk full, locked, I/O: not damage; the caller runs in memory and the file stays
    except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed"
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


class LossLedger:
    """A small file beside the journal that records readings lost at a stop (``journal.sqlite-lost``).

    When the journal cannot write (disk full), it cannot record that it lost readings either.
    The ledger's blocks are allocated while there is room (at open), and a stop overwrites them
    in place, which needs no free space (ext4, f2fs, tmpfs; not a copy-on-write file system).
    One ASCII line ``lost <readings> <stop time ns>``, padded with spaces; the next start adds
    it to the journal's persisted count (once: the stop time is remembered) and clears it.
    """

    SIZE = 128

    def __init__(self, journal_path: Path | str) -> None:
        self.path = Path(f"{journal_path}-lost")

    def prepare(self) -> None:
        """Allocate the file's blocks now, while there is room (never raises)."""
        try:
            if self.path.exists() and self.path.stat().st_size == self.SIZE:
                return
            self._write(0, 0, create=True)
        except OSError as exc:
            log.warning("journal: cannot prepare %s (%s): a loss at stop would only be logged", self.path, exc)

    def read(self) -> tuple[int, int]:
        """``(readings lost, stop time ns)``; ``(0, 0)`` if none or unreadable."""
        try:
            words = self.path.read_text(encoding="ascii").split()
            if len(words) == 3 and words[0] == "lost":
                return int(words[1]), int(words[2])
        except (OSError, ValueError, UnicodeDecodeError):
            pass
        return 0, 0

    def record(self, lost: int, now_ns: int) -> bool:
        """Add ``lost`` to what the ledger holds, in place; ``False`` if it could not."""
        held, _ = self.read()
        try:
            self._write(held + lost, now_ns, create=False)
        except OSError as exc:
            log.error("journal: cannot record the loss in %s (%s)", self.path, exc)
            return False
        return True

    def clear(self) -> None:
        """Nothing lost any more (after the journal has counted it); never raises."""
        with contextlib.suppress(OSError):
            self._write(0, 0, create=False)

    def _write(self, lost: int, now_ns: int, *, create: bool) -> None:
        line = f"lost {lost} {now_ns}\n".encode("ascii").ljust(self.SIZE, b" ")
        flags = os.O_WRONLY | (os.O_CREAT | os.O_TRUNC if create else 0)
        fd = os.open(self.path, flags, 0o600)
        try:
            os.pwrite(fd, line, 0)
            os.fsync(fd)
        finally:
            os.close(fd)


def absorb_ledger(db: sqlite3.Connection, ledger: LossLedger | None) -> tuple[int, int, int]:
    """Add what ``ledger`` recorded at the last stop to the count kept in ``meta`` (once), prepare it.

    Returns the total of readings lost at stops, the readings newly found lost (0 if none) and
    that stop's time. Never raises for the disk: if the count cannot be stored (still full), it
    is counted now and stays in the ledger for the next start (the stop time says whether a
    record was already counted). ``ledger`` is ``None`` for an in-memory journal.
    """
    meta = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('lost', 'lost_seen')").fetchall())
    total = int(meta.get("lost", 0))
    if ledger is None:
        return total, 0, 0
    lost, stopped_ns = ledger.read()
    if not lost or stopped_ns == int(meta.get("lost_seen", 0)):
        ledger.prepare()
        return total, 0, 0
    try:
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                       [("lost", total + lost), ("lost_seen", stopped_ns)])
        db.execute("COMMIT")
    except sqlite3.Error as exc:
        rollback(db)
        log.warning("journal: cannot store the count of readings lost at the last stop (%s)", exc)
    else:
        ledger.clear()
    return total + lost, lost, stopped_ns
