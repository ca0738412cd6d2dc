"""The journal's group commit and disk budget (journal thread).

Rules of this module:
- **in memory, nothing moves before COMMIT**: a failed transaction leaves the window (back in front
  of the buffer, bounded and counted), the cursors and the segments as they were;
- one window larger than the footprint's slice is committed in several transactions, oldest first;
- **no commit when nothing changed**; moved cursors are written only when a sink has delivered
  ``CURSOR_SAVE_ROWS`` since they were last written (or when asked, or when the budget drops rows);
- past the budget the *oldest* rows go, never the rows just committed, counted per sink exactly,
  logged once per episode.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time

from gateway import journal_segments, lineproto
from gateway.journal_base import JournalBase
from gateway.journal_cursors import Cursor
from gateway.journal_file import is_corruption
from gateway.model import Reading
from gateway.sqlite_tx import rollback

log = logging.getLogger("gateway.journal")

#: moved cursors are written by the loop once a sink has delivered this many rows since they were last
#: written (and at every explicit commit, at close, when the budget drops rows): a crash makes a sink
#: resend at most this many points, which InfluxDB overwrites; a commit of readings writes no cursor page
CURSOR_SAVE_ROWS = 10_000
_BUDGET_CLEAR = 0.90  # an over-budget episode ends below this fraction


class JournalCommits(JournalBase):
    """Group commits, cursor saves and the disk budget (journal thread)."""

    def _db_commit(self, save_cursors: bool) -> tuple[int, int]:
        """One group commit; moved cursors are saved when ``save_cursors`` or every :data:`CURSOR_SAVE_ROWS`.

        A window larger than the footprint's slice is committed in several transactions, oldest
        first, so no transaction grows the WAL or the file past the budget. Whatever fails, the
        window is never lost: what was not committed goes back in front of the buffer (bounded
        and counted) and waits for the next commit. Returns the rows committed and the last id.
        """
        db = self._require_db()  # before taking the window: a closed journal leaves it in the buffer
        with self._lock:
            batch = list(self._buffer)
            self._buffer.clear()
        batch, lines = self._encode(batch)
        done = 0
        while True:
            end = journal_segments.slice_end(lines, done, self._footprint.slice_bytes)
            if not self._commit_slice(db, save_cursors, batch[done:end], lines[done:end]):
                self._requeue(batch[done:])  # the window waits in memory for the next commit
                return done, self._last_id
            done = end
            if done >= len(batch):
                return done, self._last_id

    def _encode(self, batch: list[Reading]) -> tuple[list[Reading], list[bytes]]:
        """The window's lines; a reading that cannot be encoded (a bug upstream) is rejected and counted."""
        kept, lines = [], []
        for reading in batch:
            try:
                lines.append(lineproto.encode(reading))
            except Exception:
                self.metrics.inc("gateway_journal_rejected_total")
                log.exception("journal: reading rejected, cannot be encoded: %r", reading)
                continue
            kept.append(reading)
        return kept, lines

    def _commit_slice(self, db: sqlite3.Connection, save_cursors: bool, batch: list[Reading],
                      lines: list[bytes]) -> bool:
        """One transaction; ``False`` if it failed (rolled back, nothing in memory moved)."""
        dirty = any(c.dirty for c in self._cursors.values())
        save_cursors = dirty and (save_cursors or self._unsaved_rows() >= CURSOR_SAVE_ROWS)
        deletable = bool(journal_segments.droppable(self._segments, min(self._min_cursor(), self._last_id)))
        if not batch and not save_cursors and not deletable:
            return True
        started = time.monotonic()
        first_id = self._last_id + 1
        before = {sink: cursor.copy() for sink, cursor in self._cursors.items()}  # restored on failure
        segments = list(self._segments)  # this transaction's view; adopted after COMMIT
        try:
            db.execute("BEGIN IMMEDIATE")
            last_id = first_id + len(batch) - 1
            journal_segments.insert(db, segments, lines, first_id)
            deleted_upto = self._delete_delivered(db, segments, last_id)
            dropped_upto, drops = self._enforce_budget(db, segments, last_id, len(batch), deleted_upto)
            saved = self._write_cursors(db) if save_cursors or drops else []
            db.execute("COMMIT")
        except Exception as exc:  # SQLite or our own bug: undo, keep the window, report once per episode
            rollback(db)
            for sink, cursor in before.items():  # the budget may have moved them: undo
                self._cursors[sink].__dict__.update(cursor.__dict__)
            if isinstance(exc, sqlite3.Error) and is_corruption(exc):
                self._recover(str(exc))
            else:
                self._commit_failed(exc)
                with contextlib.suppress(sqlite3.Error):
                    self._refresh_stats()
            return False
        # durable from here on
        self._segments = segments
        self._committed_ok(saved, last_id, max(deleted_upto, dropped_upto), started)
        if drops:
            self._log_drops(drops)
        else:
            self._budget_check(db, last_id)
        self._committed += len(batch)
        if batch:
            self.metrics.inc("gateway_journal_committed_total", len(batch))
            self._notify(self._batch_listeners, batch, "batch")
        self._refresh_stats()
        return True

    def _budget_check(self, db: sqlite3.Connection, last_id: int) -> None:
        """After a commit that dropped nothing: is an over-budget episode over?"""
        if not self._over_budget:
            return
        caught_up = self._min_cursor() >= last_id  # what is left is delivered: nothing unsent at risk
        if caught_up or journal_segments.used_bytes(db, self._page_size) < self._footprint.data_bytes * _BUDGET_CLEAR:
            self._over_budget = False
            log.warning("journal back under its budget (%d points dropped in this episode)", self._episode_dropped)
            self._episode_dropped = 0

    def _committed_ok(self, saved: list[Cursor], last_id: int, deleted_upto: int, started: float) -> None:
        for cursor in saved:
            cursor.saved()
        self._last_id = last_id
        self._deleted_upto = deleted_upto
        self._commits += 1
        self._last_commit_ns = self.clock.time_ns()
        self._last_commit_s = time.monotonic() - started
        if self._write_failing:
            self._write_failing = False
            log.warning("journal writes work again")
        with self._lock:
            if self._overflow_logged and len(self._buffer) < self.buffer_points // 2:
                self._overflow_logged = False  # the next overflow episode is logged again
                log.warning("journal buffer drained (%d readings dropped so far)", self._overflow)

    def _requeue(self, batch: list[Reading]) -> None:
        """Put a window that could not be committed back in front of the buffer (bounded)."""
        with self._lock:
            room = self.buffer_points - len(self._buffer)
            keep = batch[-room:] if room > 0 else []
            lost = len(batch) - len(keep)
            self._buffer.extendleft(reversed(keep))
            self._overflow += lost
        if lost:
            self.metrics.inc("gateway_journal_buffer_overflow_total", lost)

    def _commit_failed(self, exc: Exception) -> None:
        """A failing disk (full, I/O error): retry at the next commit; report once per episode."""
        self._write_errors += 1
        self.metrics.inc("gateway_journal_write_errors_total")
        if not self._write_failing:
            self._write_failing = True
            log.error("journal commit failed (%s); keeping up to %d readings in memory and retrying",
                      exc, self.buffer_points)
            self._queue_event("journal_write_failed", f"the journal cannot write ({exc})", "alarm")

    def _unsaved_rows(self) -> int:
        """The most rows one sink delivered since its cursor was last written."""
        return max((c.last_id - c.saved_id for c in self._cursors.values() if c.dirty), default=0)

    def _delete_delivered(self, db: sqlite3.Connection, segments: list[int], last_id: int) -> int:
        """Drop the segments every sink has delivered; return the new ``deleted_upto``."""
        gone = journal_segments.drop(db, segments, min(self._min_cursor(), last_id))
        return max(self._deleted_upto, gone) if gone is not None else self._deleted_upto

    def _enforce_budget(
        self, db: sqlite3.Connection, segments: list[int], last_id: int, newest: int, deleted_upto: int
    ) -> tuple[int, dict[str, int]]:
        """Drop the oldest rows past the budget; return where rows are gone up to and the drops per sink."""
        cut = journal_segments.budget_cut(db, segments, self._footprint, self._page_size, last_id=last_id,
                                          newest=newest, deleted_upto=deleted_upto,
                                          delivered_upto=min(self._min_cursor(), last_id))
        if cut is None:
            return deleted_upto, {}
        drops: dict[str, int] = {}
        for sink, cursor in self._cursors.items():
            if cursor.last_id < cut:  # rows it holds in flight are at risk, not dropped (yet)
                drops[sink] = cursor.cut(cut, deleted_upto)
        if not self._cursors:
            drops[""] = cut - deleted_upto
        return cut, drops

    def _log_drops(self, drops: dict[str, int]) -> None:
        total = max(drops.values())
        first = not self._over_budget
        self._over_budget = True
        self._episode_dropped += total
        for sink, count in drops.items():
            if sink:
                self.metrics.inc("gateway_journal_dropped_total", count, sink=sink)
        if first:
            per_sink = ", ".join(f"{s}: {c.dropped}" for s, c in self._cursors.items())
            log.error("journal over its disk budget (%.0f MB): dropping the OLDEST unsent points "
                      "(dropped so far per sink: %s); logged once per episode, counted in "
                      "gateway_journal_dropped_total", self.budget_bytes / 1e6, per_sink or "none")
            self._queue_event("journal_budget", f"disk budget reached: dropping the oldest unsent points "
                              f"({total} so far in this episode)", "warning")

