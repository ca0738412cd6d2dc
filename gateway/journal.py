"""The durable local outbox: every reading is committed to SQLite before any sink sees it.

Rules of this module:
- **one thread touches SQLite**: a single-thread executor owns the connection; the event
  loop only hands readings over (:meth:`Journal.append`, in memory, never blocks) and awaits
  the executor for :meth:`~Journal.fetch` / :meth:`~Journal.advance`;
- **group commit**: readings are written every ``commit_interval_s`` in one transaction
  (WAL, ``synchronous=FULL``): a committed row survives a power cut; at most the last
  window (the rows still in memory) is lost, and nothing is reported committed before it is;
- **per-sink cursors** (ids are dense and increasing): a sink reads rows after its cursor
  (or, reading ahead, after the last id it has in flight: ``fetch(after=...)``, the cursor
  untouched) and advances it, monotonically, only over what it delivered; moved cursors
  are persisted by a group commit at most every 5 s (and at every explicit
  :meth:`Journal.commit`, at close and when the budget drops rows), so after a crash a sink
  may resend at most those seconds of points, which InfluxDB overwrites (same series, same
  time): never a loss, never a duplicate;
- rows live in segment tables of 16,384 ids; a segment every sink has delivered is dropped
  whole (its pages join the free list without being rewritten, unlike row deletes); freed
  pages are reused in place, so the file stays at its high-water mark (bounded by the budget);
- **disk budget** = the files on disk (database, WAL, ``-shm``; see ``journal_file.Footprint``):
  past it the *oldest* unsent rows are dropped (never the rows just committed), counted per
  sink *exactly* (rows in flight count as delivered if acknowledged: ``journal_cursors``),
  persisted, logged once per episode, exported as metrics;
- **in memory, nothing moves before COMMIT**: a failed transaction leaves the window, the
  cursors and the segments as they were; a stop on a failing disk counts, logs and records
  (``journal.sqlite-lost``) the readings it could not write, reported again at the next start;
- memory is flat whatever the backlog: fetches are paged (``limit``/``max_bytes``), the
  in-memory hand-off buffer is bounded (overflow drops its oldest and is counted);
- the journal never stops the daemon: a corrupt file (integrity check at open — deferred to
  the journal thread for large files — or damage met later) is moved aside
  (``journal.sqlite.corrupt-<UTC time>``) and a fresh one started; a journal that cannot be
  opened (or migrated: disk full, locked, I/O; not damage) falls back to memory, file untouched.
  Either way an :class:`~gateway.model.Event` is queued and raised once the core exists
  (:meth:`Journal.set_event_handler`).

Example::

    journal = open_journal(config, metrics=metrics, clock=clock)
    journal.append(reading)              # from the event loop
    journal.commit()                     # normally done by ``await journal.run()``
    rows = await journal.fetch("local")  # [JournalRow(id=1, line=b'meter,...')]
    await journal.advance("local", rows[-1].id)
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import sqlite3
import threading
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from gateway import journal_blocks, journal_segments
from gateway.clock import Clock
from gateway.journal_blocks import BlockCache, rows_after
from gateway.journal_commit import CURSOR_SAVE_ROWS, JournalCommits
from gateway.journal_cursors import Cursor
from gateway.journal_file import (
    Footprint,
    LossLedger,
    is_corruption,
    on_disk,
    thread_written_bytes,
)
from gateway.journal_lifecycle import JournalLifecycle
from gateway.journal_stats import JournalRow, JournalStats, SinkStats, describe_metrics
from gateway.metrics import Metrics
from gateway.model import Event, Reading
from gateway.storage import SqliteThread

if TYPE_CHECKING:
    from gateway.config import GatewayConfig

__all__ = ["CURSOR_SAVE_ROWS", "URGENT", "Journal", "JournalRow", "JournalStats", "SinkStats", "open_journal"]

_T = TypeVar("_T")

log = logging.getLogger("gateway.journal")

#: readings that are durable before they are acknowledged: committed at once, not at the next window
URGENT = frozenset({"relay", "event"})


class Journal(JournalLifecycle, JournalCommits):
    """SQLite outbox with per-sink cursors, group commit and a disk budget.

    Build it with :func:`open_journal`. ``append`` may be called from any thread; the
    coroutines from the event loop; ``commit``, ``stats`` and ``close`` from any thread
    except the journal's own.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        sinks: Iterable[str],
        metrics: Metrics,
        clock: Clock,
        budget_bytes: int = 256 * 1024 * 1024,
        commit_interval_s: float = 5.0,
        buffer_points: int = 50_000,
        check_at_open_below: int = 16 * 1024 * 1024,
    ) -> None:
        self.path = Path(path)
        self.check_at_open_below = check_at_open_below
        self.metrics = metrics
        self.clock = clock
        self.budget_bytes = int(budget_bytes)
        self._footprint = Footprint(self.budget_bytes)  # the budget is the files' size: WAL and index too
        self._ledger = LossLedger(self.path)
        self._lost = 0  # readings lost at stops (persisted in meta)
        self.commit_interval_s = commit_interval_s
        self.buffer_points = buffer_points
        self._sink_names = tuple(dict.fromkeys(sinks))
        self._thread = SqliteThread("journal")
        self._lock = threading.Lock()
        self._buffer: collections.deque[Reading] = collections.deque()
        self._overflow = 0
        self._overflow_logged = False
        self._commit_listeners: list[Callable[[int], None]] = []
        self._batch_listeners: list[Callable[[Sequence[Reading]], None]] = []
        self._event_handler: Callable[[Event], None] | None = None
        self._pending_events: list[Event] = []
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None  # set while run() commits
        self._wake = asyncio.Event()
        self._wake_pending = False
        # below: owned by the journal thread
        self._db: sqlite3.Connection | None = None
        self._durable = True
        self._recovered_from: str | None = None
        self._cursors: dict[str, Cursor] = {}
        self._last_id = 0
        self._deleted_upto = 0
        self._segments: list[int] = []  # segment tables present, oldest first
        self._blocks = BlockCache()  # the blocks a paged fetch reads on from
        self._page_size = 4096
        self._commits = 0
        self._committed = 0
        self._last_commit_ns: int | None = None
        self._last_commit_s = 0.0
        self._write_errors = 0
        self._written_base: int | None = None
        self._write_failing = False
        self._over_budget = False
        self._episode_dropped = 0
        self._stats = JournalStats(str(self.path), True, 0, 0, 0, self.budget_bytes, 0, 0, 0, 0, 0, None,
                                   0.0, 0, 0, False)
        describe_metrics(self.metrics)
        self._check_pending = False
        self._loop_failed = False
        self._call(self._db_open)
        if self._check_pending:  # a large file: check it on the journal thread, without delaying start-up
            self._thread.submit(self._db_deferred_check)

    # ------------------------------------------------------------------ public API

    def append(self, reading: Reading) -> None:
        """Hand a reading over for the next group commit (in memory; never blocks on disk)."""
        with self._lock:
            if len(self._buffer) >= self.buffer_points:
                self._buffer.popleft()  # the oldest: never the newest
                self._overflow += 1
                overflowed, first = True, not self._overflow_logged
                self._overflow_logged = True
            else:
                overflowed = first = False
            self._buffer.append(reading)
            wake = reading.measurement in URGENT and not self._wake_pending and self._loop is not None
            if wake:
                self._wake_pending = True
        if wake and (loop := self._loop) is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closing: the final commit takes it
                loop.call_soon_threadsafe(self._wake.set)
        if overflowed:
            self.metrics.inc("gateway_journal_buffer_overflow_total")
            if first:
                log.error("journal buffer full (%d readings): the disk is not keeping up; dropping the "
                          "oldest buffered readings (counted in gateway_journal_buffer_overflow_total)",
                          self.buffer_points)

    def commit(self, *, save_cursors: bool = True) -> int:
        """Commit what is buffered now (blocking); return the number of rows committed.

        ``save_cursors=False`` behaves like the group-commit loop: moved cursors wait for their
        next periodic save.
        """
        count, last_id = self._call(self._db_commit, save_cursors)
        self._after_commit(count, last_id)
        return count

    async def run(self) -> None:
        """Group-commit every ``commit_interval_s`` until cancelled; commit once more on the way out.

        A reading that must be durable before it is acknowledged (:data:`URGENT`: a relay switch,
        an event) wakes the loop at once: it is committed with whatever waits beside it.
        """
        loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._loop = loop
        next_at = loop.time() + self.commit_interval_s
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(0.0, next_at - loop.time())):
                        await self._wake.wait()
                self._wake.clear()
                self._wake_pending = False
                if loop.time() >= next_at:
                    next_at = max(next_at + self.commit_interval_s, loop.time())
                try:
                    count, last_id = await self._thread.acall(self._db_commit, False)
                except Exception:  # a bug must not stop the daemon: say it once, keep committing
                    if not self._loop_failed:
                        log.exception("journal group commit failed unexpectedly; retrying every %.1f s",
                                      self.commit_interval_s)
                    self._loop_failed = True
                    continue
                self._loop_failed = False
                self._after_commit(count, last_id)
        except asyncio.CancelledError:
            self._loop = None
            if not self._closed:
                self.commit()  # the final commit: blocking is right at shutdown
            raise

    async def fetch(
        self, sink: str, limit: int = 5000, max_bytes: int = 1_000_000, after: int | None = None
    ) -> list[JournalRow]:
        """Committed rows after ``sink``'s cursor, oldest first, at most ``limit`` rows / ``max_bytes``.

        ``after`` reads ahead: rows with an id above ``after`` (or above the cursor, if that is
        further: rows the sink delivered or the budget dropped are never returned), so a sink can
        fetch its next window while the current one is in flight. The cursor is not touched:
        it moves only through :meth:`advance`.
        """
        return await self._thread.acall(self._db_fetch, sink, limit, max_bytes, after)

    async def advance(self, sink: str, last_id: int) -> None:
        """``sink`` delivered every row up to ``last_id``; persisted with the next group commit."""
        await self._thread.acall(self._db_advance, sink, last_id)

    def fetch_sync(
        self, sink: str, limit: int = 5000, max_bytes: int = 1_000_000, after: int | None = None
    ) -> list[JournalRow]:
        """:meth:`fetch` for threads and tools (not the event loop)."""
        return self._call(self._db_fetch, sink, limit, max_bytes, after)

    def advance_sync(self, sink: str, last_id: int) -> None:
        """:meth:`advance` for threads and tools (not the event loop)."""
        self._call(self._db_advance, sink, last_id)

    def register_sink(self, sink: str) -> None:
        """Add a consumer at run time (it starts at the oldest row still kept)."""
        self._call(self._db_register, sink)

    @property
    def sinks(self) -> tuple[str, ...]:
        """The consumers whose cursors keep rows alive."""
        return tuple(self._cursors)

    def add_commit_listener(self, listener: Callable[[int], None]) -> None:
        """Call ``listener(last_committed_id)`` after each durable commit of new rows.

        Called on the thread that committed: the event loop for the group commit loop.
        """
        self._commit_listeners.append(listener)

    def add_batch_listener(self, listener: Callable[[Sequence[Reading]], None]) -> None:
        """Call ``listener(readings)`` on the journal thread with each durably committed batch.

        For internal consumers (the hourly archive) that need values, not lines; keep it quick.
        """
        self._batch_listeners.append(listener)

    def set_event_handler(self, handler: Callable[[Event], None]) -> None:
        """Where journal events go (``core.raise_event``); events queued before are raised now."""
        self._event_handler = handler
        self._flush_events()

    def stats(self) -> JournalStats:
        """The latest snapshot (updated after every commit and cursor move)."""
        with self._lock:
            return replace(self._stats, buffered=len(self._buffer), buffer_overflow=self._overflow)

    def close(self) -> None:
        """Commit what is buffered, persist cursors and close the file (idempotent; never raises for the disk).

        Readings the final commit could not write (a full or failing disk) are lost: counted in
        ``gateway_journal_lost_total``, logged with the figure, and recorded in the
        :class:`~gateway.journal_file.LossLedger` so the next start reports them too.
        """
        if self._closed:
            return
        try:
            self.commit()
        finally:
            self._closed = True
            with self._lock:
                left = len(self._buffer)
                self._buffer.clear()
            self._thread.close(lambda: self._db_close(left))

    # ------------------------------------------------------------------ loop-side helpers

    def _call(self, fn: Callable[..., _T], *args: object) -> _T:
        if self._closed:
            raise RuntimeError("journal is closed")
        return self._thread.call(fn, *args)

    def _after_commit(self, count: int, last_id: int) -> None:
        if count:
            self._notify(self._commit_listeners, last_id, "commit")
        self._flush_events()

    def _flush_events(self) -> None:
        if self._event_handler is None:
            return
        with self._lock:
            events, self._pending_events = self._pending_events, []
        for event in events:
            self._event_handler(event)

    # ------------------------------------------------------------------ journal thread

    def _db_fetch(self, sink: str, limit: int, max_bytes: int, after: int | None = None) -> list[JournalRow]:
        start = self._cursor(sink).last_id
        if after is not None:
            start = max(start, after)  # never behind the cursor: delivered or dropped rows stay behind
        rows: list[JournalRow] = []
        size = 0
        limit = max(1, limit)
        try:
            for row_id, line in rows_after(self._require_db(), self._segments, start, self._blocks):
                if rows and (size + len(line) > max_bytes or len(rows) >= limit):
                    break
                rows.append(JournalRow(row_id, line))
                size += len(line) + 1
        except (sqlite3.DatabaseError, ValueError, zlib.error) as exc:
            if isinstance(exc, sqlite3.DatabaseError) and not is_corruption(exc):
                raise
            self._recover(str(exc))
            return []
        self._fetched(sink, after, rows)
        return rows

    def _fetched(self, sink: str, after: int | None, rows: list[JournalRow]) -> None:
        """What the sink holds now; rows at risk that it gave up become dropped."""
        given_up = self._cursor(sink).fetched(after, rows[-1].id if rows else None)
        if given_up:
            self.metrics.inc("gateway_journal_dropped_total", given_up, sink=sink)
            self._refresh_stats(lag=False)

    def _db_advance(self, sink: str, last_id: int) -> None:
        cursor = self._cursor(sink)
        if last_id > self._last_id:
            raise ValueError(f"{sink}: cannot advance to {last_id}, past the last committed row "
                             f"{self._last_id}")
        delivered = cursor.acknowledged(last_id, self.clock.time_ns())
        if not delivered:
            return  # already there (a resend after a restart, or rows dropped meanwhile)
        self.metrics.inc("gateway_journal_delivered_total", delivered, sink=sink)
        self._refresh_stats(lag=False)

    def _refresh_stats(self, *, lag: bool = True) -> None:
        db = self._require_db()
        now = self.clock.time_ns()
        previous = self._stats.sinks
        sinks: dict[str, SinkStats] = {}
        for sink, cursor in self._cursors.items():
            backlog = max(0, self._last_id - max(cursor.last_id, self._deleted_upto))
            lag_s: float | None = None
            if backlog and lag:
                first = self._first_time_after(db, cursor.last_id)
                lag_s = max(0.0, (now - first) / 1e9) if first is not None else None
            elif backlog and sink in previous:
                lag_s = previous[sink].lag_s
            sinks[sink] = SinkStats(cursor.last_id, backlog, lag_s, cursor.dropped, cursor.delivered,
                                    cursor.last_success_ns, cursor.at_risk_rows)
            self.metrics.set("gateway_journal_backlog", backlog, sink=sink)
            self.metrics.set("gateway_journal_lag_seconds", lag_s or 0.0, sink=sink)
            self.metrics.set("gateway_journal_dropped_total", cursor.dropped, sink=sink)
        files = on_disk(self.path) if self._durable else 0
        used = journal_segments.used_bytes(db, self._page_size)
        rows = self._last_id - max(self._deleted_upto, self._min_cursor())  # not yet delivered by all
        total = thread_written_bytes()
        if self._written_base is None:
            self._written_base = total
        written = total - self._written_base
        stats = JournalStats(
            path=str(self.path), durable=self._durable, rows=rows, bytes_on_disk=files, used_bytes=used,
            budget_bytes=self.budget_bytes, last_id=self._last_id, buffered=0, buffer_overflow=0,
            commits=self._commits, committed=self._committed, last_commit_ns=self._last_commit_ns,
            last_commit_s=self._last_commit_s, write_errors=self._write_errors, written_bytes=written,
            over_budget=self._over_budget,
            sinks=sinks, recovered_from=self._recovered_from, write_failing=self._write_failing, lost=self._lost,
        )
        with self._lock:
            self._stats = stats
        self.metrics.set("gateway_journal_rows", rows)
        self.metrics.set("gateway_journal_bytes", files)
        self.metrics.set("gateway_journal_used_bytes", used)
        self.metrics.set("gateway_journal_budget_bytes", self.budget_bytes)
        self.metrics.set("gateway_journal_commit_seconds", self._last_commit_s)
        self.metrics.set("gateway_journal_written_bytes_total", written)
        self.metrics.set("gateway_journal_write_failing", int(self._write_failing))
        self.metrics.set("gateway_journal_lost_total", self._lost)

    def _first_time_after(self, db: sqlite3.Connection, after: int) -> int | None:
        """The measurement time of the first row after id ``after`` (None if unknown).

        Damage met here is left to the integrity check or the next fetch, which move the file aside.
        """
        try:
            return journal_blocks.first_time_after(db, self._segments, after)
        except (sqlite3.DatabaseError, ValueError, zlib.error) as exc:
            if isinstance(exc, sqlite3.DatabaseError) and not is_corruption(exc):
                raise
            return None


def open_journal(
    config: GatewayConfig,
    *,
    metrics: Metrics,
    clock: Clock,
    internal_sinks: Iterable[str] = (),
) -> Journal:
    """Open (or create, or recover) the journal the configuration describes.

    Sinks are the enabled ``[sinks]`` plus ``internal_sinks``. Never raises for a bad file.
    """
    sinks = [name for name, sink in config.sinks.items() if getattr(sink, "enabled", True)]
    return Journal(
        config.journal_path,
        sinks=[*sinks, *internal_sinks],
        metrics=metrics,
        clock=clock,
        budget_bytes=int(config.journal.budget_mb * 1024 * 1024),
        commit_interval_s=config.journal.commit_interval_s,
        buffer_points=config.journal.buffer_points,
    )
