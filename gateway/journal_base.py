"""The journal's state, shared by its parts: what the journal thread owns and a few helpers.

Rules of this module:
- :class:`JournalBase` only declares the state (``Journal.__init__`` sets it) and the helpers
  every part uses; the parts are :mod:`gateway.journal_lifecycle` (open, recover, close),
  :mod:`gateway.journal_commit` (group commit, budget) and :mod:`gateway.journal` (the public API,
  fetch, advance, stats), composed into :class:`gateway.journal.Journal`;
- attributes below the "journal thread" line are touched only on the journal's own thread;
  ``_buffer``, ``_pending_events`` and ``_stats`` are shared under ``_lock``.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from gateway.clock import Clock
from gateway.journal_blocks import BlockCache
from gateway.journal_cursors import Cursor
from gateway.journal_file import Footprint, LossLedger
from gateway.journal_stats import JournalStats
from gateway.metrics import Metrics
from gateway.model import Event, Reading, Severity
from gateway.storage import SqliteThread

_A = TypeVar("_A")
log = logging.getLogger("gateway.journal")


class JournalBase:
    """The state of a journal and its shared helpers (see the module)."""

    path: Path
    check_at_open_below: int
    metrics: Metrics
    clock: Clock
    budget_bytes: int
    commit_interval_s: float
    buffer_points: int
    _footprint: Footprint
    _ledger: LossLedger
    _lost: int
    _sink_names: tuple[str, ...]
    _thread: SqliteThread
    _lock: threading.Lock
    _buffer: collections.deque[Reading]
    _overflow: int
    _overflow_logged: bool
    _commit_listeners: list[Callable[[int], None]]
    _batch_listeners: list[Callable[[Sequence[Reading]], None]]
    _event_handler: Callable[[Event], None] | None
    _pending_events: list[Event]
    _closed: bool
    _loop: asyncio.AbstractEventLoop | None
    _wake: asyncio.Event
    _wake_pending: bool
    _stats: JournalStats
    _check_pending: bool
    _loop_failed: bool
    # journal thread
    _db: sqlite3.Connection | None
    _durable: bool
    _recovered_from: str | None
    _cursors: dict[str, Cursor]
    _last_id: int
    _deleted_upto: int
    _segments: list[int]
    _blocks: BlockCache
    _page_size: int
    _commits: int
    _committed: int
    _last_commit_ns: int | None
    _last_commit_s: float
    _write_errors: int
    _written_base: int | None
    _write_failing: bool
    _over_budget: bool
    _episode_dropped: int

    def _refresh_stats(self, *, lag: bool = True) -> None:
        raise NotImplementedError

    @staticmethod
    def _notify(listeners: Sequence[Callable[[_A], None]], value: _A, what: str) -> None:
        """Call each listener; one that fails is logged and the others still run."""
        for listener in listeners:
            try:
                listener(value)
            except Exception:
                log.exception("journal %s listener %r failed", what, listener)

    def _recover(self, reason: str) -> None:
        raise NotImplementedError

    def _queue_event(self, kind: str, message: str, severity: Severity = "warning", **data: str | int) -> None:
        event = Event(kind=kind, subject="journal", message=message, time_ns=self.clock.time_ns(),
                      severity=severity, data=tuple(sorted(data.items())))
        with self._lock:
            self._pending_events.append(event)

    def _require_db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("journal is not open")
        return self._db

    def _min_cursor(self) -> int:
        return min((c.last_id for c in self._cursors.values()), default=self._last_id)

    def _cursor(self, sink: str) -> Cursor:
        try:
            return self._cursors[sink]
        except KeyError:
            known = ", ".join(self._cursors) or "none"
            raise KeyError(f"unknown journal sink {sink!r} (known: {known})") from None

    def _write_cursors(self, db: sqlite3.Connection) -> list[Cursor]:
        """Write every moved cursor; the caller marks them clean once committed."""
        written = []
        for sink, cursor in self._cursors.items():
            if cursor.dirty:
                written.append(cursor)
                db.execute(
                    "INSERT INTO cursors (sink, last_id, dropped, delivered, last_success_ns)"
                    " VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT(sink) DO UPDATE SET last_id = excluded.last_id, dropped = excluded.dropped,"
                    " delivered = excluded.delivered, last_success_ns = excluded.last_success_ns",
                    (sink, cursor.last_id, cursor.stored_dropped, cursor.delivered, cursor.last_success_ns),
                )
        return written

