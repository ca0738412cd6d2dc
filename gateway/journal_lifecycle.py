"""The journal's file over its life: open (check, migrate, recover), cursors at rest, close.

Rules of this module:
- runs on the journal's thread;
- the journal never stops the daemon: an unusable file is moved aside and a fresh one started
  (``journal_recovered``); damage met while running is moved aside too, **with the id sequence
  continued** (sinks holding old ids can still advance; what they had not delivered is counted as
  dropped); a file that cannot be opened for a reason that is not damage is left as it is and the
  journal runs in memory (``journal_unavailable``);
- readings lost at a stop on a failing disk are counted, logged and recorded in the
  :class:`~gateway.journal_file.LossLedger`, reported again at the next start.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from gateway import journal_schema
from gateway.journal_base import JournalBase
from gateway.journal_blocks import block_table
from gateway.journal_cursors import Cursor
from gateway.journal_file import UnusableFileError, absorb_ledger, check_integrity, connect, is_corruption, move_aside

log = logging.getLogger("gateway.journal")


class JournalLifecycle(JournalBase):
    """Opening, recovering and closing the journal's file (journal thread)."""

    def _db_open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._connect_checked(self.path)
            self._load_state()
        except UnusableFileError as exc:
            self._start_fresh(exc.suffix, exc.reason)
        except (sqlite3.Error, OSError) as exc:
            if isinstance(exc, sqlite3.DatabaseError) and is_corruption(exc):
                self._start_fresh("corrupt", str(exc))
            else:  # disk full, locked, I/O, permissions: not damage; the file stays for the next start
                self._fall_back_to_memory(str(exc))
                self._load_state()
        self._absorb_lost()
        self._refresh_stats()

    def _start_fresh(self, suffix: str, reason: str) -> None:
        """The file found at open is unusable: keep it aside, start an empty journal."""
        moved = self._replace_file(suffix)
        log.error("journal %s is unusable (%s); moved aside to %s, starting a fresh one", self.path, reason, moved)
        self._queue_event("journal_recovered",
                          f"the journal was unusable ({reason}); kept as {moved.name}, a fresh one started",
                          "alarm", moved_to=str(moved))
        self._load_state()

    def _replace_file(self, suffix: str) -> Path:
        """Close the file, keep it aside (``journal.sqlite.<suffix>-<time>``), open a fresh one (or memory)."""
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        self._blocks.clear()
        moved = move_aside(self.path, suffix)
        self._recovered_from = str(moved)
        try:
            self._db = self._connect_checked(self.path)
        except (UnusableFileError, sqlite3.Error, OSError) as exc:
            self._fall_back_to_memory(str(exc))
        return moved

    def _connect_checked(self, path: Path | str) -> sqlite3.Connection:
        db, check_due = connect(path, check_below=self.check_at_open_below, footprint=self._footprint)
        self._check_pending = self._check_pending or check_due
        self._page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
        return db

    def _db_deferred_check(self) -> None:
        """``quick_check`` of a large journal, run as the journal thread's first job after opening.

        Start-up (relay boot states first of all) does not wait for reading a few hundred MB
        from the SD card; appends wait in the memory buffer meanwhile.
        """
        try:
            check_integrity(self._require_db(), self.path, "quick_check")
        except (UnusableFileError, sqlite3.DatabaseError) as exc:
            self._recover(str(exc))

    def _recover(self, reason: str) -> None:
        """Corruption found while running: keep the file aside, continue in a fresh one.

        Ids continue from the last one committed, so sinks holding rows of the old file can
        still ``advance``; rows a sink had not delivered are counted as dropped for it.
        """
        old_last = self._last_id
        lost = {s: c.cut(old_last, self._deleted_upto) for s, c in self._cursors.items()}  # in flight: at risk
        moved = self._replace_file("corrupt")
        log.error("journal %s is corrupt (%s); moved aside to %s, continuing in a fresh one "
                  "(%s points not yet delivered are in the old file)", self.path, reason, moved,
                  max(lost.values(), default=0))
        self._queue_event("journal_recovered",
                          f"the journal was corrupt ({reason}); kept as {moved.name}, a fresh one started",
                          "alarm", moved_to=str(moved))
        db = self._require_db()
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_id', ?)", (old_last,))
        self._last_id = self._deleted_upto = old_last
        self._segments = journal_schema.segments(db)
        for sink in self._cursors:
            if lost[sink]:
                self.metrics.inc("gateway_journal_dropped_total", lost[sink], sink=sink)
        self._persist_cursors()
        self._refresh_stats()

    def _fall_back_to_memory(self, reason: str) -> None:
        log.error("journal %s cannot be opened (%s): running with an in-memory journal, "
                  "points are NOT durable until this is fixed", self.path, reason)
        self._durable = False
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
        self._queue_event("journal_unavailable",
                          f"the journal file cannot be opened ({reason}); points are kept in memory only",
                          "alarm")
        self._db = self._connect_checked(":memory:")

    def _load_state(self) -> None:
        db = self._require_db()
        mark = db.execute("SELECT value FROM meta WHERE key = 'last_id'").fetchone()
        self._segments = journal_schema.segments(db)
        low = high = None
        if self._segments:  # min and max from the b-trees' edges (no scan)
            (low,) = db.execute(f"SELECT min(first_id) FROM {block_table(self._segments[0])}").fetchone()  # noqa: S608
            (high,) = db.execute(f"SELECT max(last_id) FROM {block_table(self._segments[-1])}").fetchone()  # noqa: S608
        self._last_id = max(int(mark[0]) if mark else 0, int(high or 0))
        self._deleted_upto = int(low) - 1 if low is not None else self._last_id
        stored = {
            str(sink): Cursor(int(last_id), int(dropped), int(delivered), success)
            for sink, last_id, dropped, delivered, success in db.execute(
                "SELECT sink, last_id, dropped, delivered, last_success_ns FROM cursors"
            )
        }
        for sink in set(stored) - set(self._sink_names):
            log.info("journal: sink %r is no longer configured; its cursor is removed", sink)
            db.execute("DELETE FROM cursors WHERE sink = ?", (sink,))
        self._cursors = {}
        start = self._new_cursor_start([c for s, c in stored.items() if s in self._sink_names])
        for sink in self._sink_names:
            cursor = stored.get(sink)
            if cursor is None:
                cursor = Cursor(start, dirty=True)
                log.info("journal: new sink %r starts at the oldest row not yet delivered (%d rows)", sink,
                         self._last_id - start)
            self._cursors[sink] = cursor
        self._persist_cursors()

    def _new_cursor_start(self, existing: list[Cursor]) -> int:
        """A new sink gets what some sink still needs (everything kept if it is the only one)."""
        return max(self._deleted_upto, min((c.last_id for c in existing), default=self._deleted_upto))

    def _persist_cursors(self) -> None:
        """Write moved cursors now (autocommit: at open and close)."""
        for cursor in self._write_cursors(self._require_db()):
            cursor.saved()

    def _db_register(self, sink: str) -> None:
        if sink not in self._cursors:
            self._cursors[sink] = Cursor(self._new_cursor_start(list(self._cursors.values())), dirty=True)
            self._sink_names = (*self._sink_names, sink)
            self._refresh_stats()

    def _db_close(self, left: int) -> None:
        if not self._durable:  # an in-memory journal: what no sink delivered dies with the process too
            left += max(0, self._last_id - max(self._min_cursor(), self._deleted_upto))
        if left:
            self._lost_at_stop(left)
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._persist_cursors()
                self._db.execute("PRAGMA optimize")
            try:
                self._db.close()
            except sqlite3.Error as exc:  # a checkpoint on a failing disk: the WAL is replayed at the next open
                log.warning("journal: closing %s: %s", self.path, exc)
            self._db = None

    def _lost_at_stop(self, left: int) -> None:
        self._lost += left
        self.metrics.inc("gateway_journal_lost_total", left)
        recorded = self._durable and self._ledger.record(left, self.clock.time_ns())
        log.error("journal: %d readings held in memory could not be written %sat stop (%d failed commits "
                  "since start) and are LOST; %s", left, "" if self._durable else "to disk (in-memory journal) ",
                  self._write_errors,
                  f"recorded in {self._ledger.path.name}, reported again at the next start" if recorded
                  else "counted in gateway_journal_lost_total")

    def _absorb_lost(self) -> None:
        """Count the readings a previous stop recorded as lost (once), and prepare the ledger."""
        self._lost, lost, stopped_ns = absorb_ledger(self._require_db(), self._ledger if self._durable else None)
        if lost:
            log.error("journal: %d readings were lost at the last stop (%s): the disk could not take them",
                      lost, datetime.fromtimestamp(stopped_ns / 1e9, UTC).isoformat(timespec="seconds"))
            self._queue_event("journal_lost_at_stop", f"{lost} readings held in memory were lost at the last "
                              "stop: the disk could not take them", "alarm", lost=lost)
