"""The journal's file: its settings and budget on the card, and the ledger of readings lost at a stop.

Rules of this module:
- functions here run on the journal's thread (they do SQLite and file I/O);
- opening, checking, migrating and moving aside are :mod:`gateway.storage`'s (shared with the
  archive and the settings store): a file that exists but cannot be used raises
  :class:`UnusableFileError` (the caller moves it aside with :func:`move_aside` and starts a
  fresh one); a file that cannot be opened at all raises ``sqlite3.Error``/``OSError`` (the
  caller falls back to memory);
- the settings are chosen for power-loss safety and for the SD card (see docs/storage.md).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from gateway import journal_schema, storage
from gateway.sqlite_tx import rollback
from gateway.storage import Pragmas, UnusableFileError, check_integrity, is_corruption, move_aside, on_disk

__all__ = ["LOW_WATER", "PAGE_SIZE", "Footprint", "LossLedger", "UnusableFileError", "absorb_ledger",
           "check_integrity", "connect", "is_corruption", "move_aside", "on_disk", "thread_written_bytes"]

log = logging.getLogger("gateway.journal")

#: Page size of a new journal. A group commit rewrites whole pages in the WAL (the leaf receiving
#: its block, the file header when the file grows, a free-list page), each again at checkpoint:
#: with 1 KiB pages a commit of a few readings writes ~3 KiB instead of ~12 KiB. A file created
#: with 4 KiB pages (v3 and before) keeps them: changing it needs a VACUUM, a full copy of the file.
PAGE_SIZE = 1024


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


def connect(
    path: Path | str, *, check_below: int, footprint: Footprint | None = None
) -> tuple[sqlite3.Connection, bool]:
    """Open, check (files under ``check_below`` bytes; larger ones later: the ``bool``) and migrate.

    ``footprint`` sizes the WAL (the default: a 256 MB budget). Raises like
    :func:`gateway.storage.connect`.
    """
    footprint = footprint or Footprint(256 * 1024 * 1024)
    # fsync the WAL at each commit (survives power loss); fewer checkpoints: fewer rewrites of hot
    # pages, bounded by the budget and cut back after each
    pragmas = Pragmas(synchronous="FULL", page_size=PAGE_SIZE, wal_bytes=footprint.wal_bytes)
    return storage.connect(path, schema=journal_schema.SCHEMA, pragmas=pragmas, full_check_below=check_below,
                           quick_check="deferred")


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
