"""Hourly archive: per series and hour, mean/min/max/count and counter deltas, kept 5 years.

Rules of this module:
- fed from the journal's committed batches (:meth:`Archive.add`, on the journal thread):
  readings are folded into in-memory hourly accumulators, never re-read from the journal;
- :meth:`Archive.flush` (every ``flush_interval_s`` and at shutdown) merges the
  accumulators into ``archive.sqlite`` with additive upserts, so a restart in the middle of
  an hour adds to the hour instead of replacing it. A power cut loses at most the last
  flush window of *aggregates* (the raw points are safe in the journal and the sinks);
- a series is ``(measurement, tags, field)``; numeric fields only (booleans as 0/1, e.g. a
  relay's duty cycle); the ``event`` measurement is not archived;
- counters (fields ending ``_kwh`` or ``_m3``) also get the hour's **delta**: the sum of the
  increases between consecutive samples, the increase into a sample counted in that sample's
  hour; a decrease is a counter reset and the new value counts as the increase since the
  reset (Prometheus' ``increase()`` convention). Sums of hourly deltas are exact over days;
- retention is its own (``retention_years``, 5 by default: CCH R175-3, French BACS rules),
  independent of the raw journal's disk budget; older hours are pruned daily;
- one thread touches the file (a single-thread executor); query methods are blocking and
  meant for the web thread or tools (from the event loop use :meth:`aflush`).

Example::

    archive = Archive(state_dir / "archive.sqlite", clock=clock)
    archive.add(readings); archive.flush()
    archive.series("meter", {"device": "mairie-general"}, "power_w", start_ns, end_ns)
    archive.counter_sum("meter", {"building": "mairie"}, "energy_import_kwh", start_ns, end_ns,
                        period="month")
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

from gateway import archive_queries, storage
from gateway.archive_hours import SeriesAcc, SeriesKey, increase, is_counter, merge
from gateway.archive_queries import HOUR_NS, hour_ceil
from gateway.clock import Clock
from gateway.metrics import Metrics
from gateway.model import Event, Reading
from gateway.sqlite_tx import rollback
from gateway.storage import Pragmas, Schema, SqliteThread, UnusableFileError, move_aside, script

__all__ = ["HOUR_NS", "Archive", "HourRow", "bucket_totals", "increase", "is_counter", "read_hours", "tags_json"]

_T = TypeVar("_T")

log = logging.getLogger("gateway.archive")

SCHEMA_VERSION = 1
#: Tag sets whose text :meth:`Archive.add` keeps (a gateway has a few hundred series).
_TAGS_TEXT_MAX = 4096
_SCHEMA = (
    "CREATE TABLE series (id INTEGER PRIMARY KEY, measurement TEXT NOT NULL, tags TEXT NOT NULL,"
    " field TEXT NOT NULL, counter INTEGER NOT NULL, last_value REAL, last_ns INTEGER,"
    " UNIQUE (measurement, tags, field))",
    "CREATE TABLE hourly (series_id INTEGER NOT NULL, hour INTEGER NOT NULL, count INTEGER NOT NULL,"
    " sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, first REAL NOT NULL, last REAL NOT NULL,"
    " delta REAL, PRIMARY KEY (series_id, hour)) WITHOUT ROWID",
    "CREATE INDEX hourly_hour ON hourly (hour)",
)
_UPSERT = (
    "INSERT INTO hourly (series_id, hour, count, sum, min, max, first, last, delta)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (series_id, hour) DO UPDATE SET"
    " count = count + excluded.count, sum = sum + excluded.sum, min = min(min, excluded.min),"
    " max = max(max, excluded.max), last = excluded.last,"
    " delta = CASE WHEN excluded.delta IS NULL THEN delta ELSE coalesce(delta, 0) + excluded.delta END"
)

_Known = tuple[int, float | None]  # a series' id and the last value stored for it


def _describe(m: Metrics) -> None:
    m.describe("gateway_archive_flushed_rows_total", "counter", "hour rows the archive flushed to its file")
    m.describe("gateway_archive_flush_errors_total", "counter", "archive flushes that failed (kept for the next)")
    m.describe("gateway_archive_lost_rows_total", "counter", "hour rows of aggregates lost: unflushable at stop")


def tags_json(tags: Mapping[str, str] | Sequence[tuple[str, str]]) -> str:
    """Canonical text of a tag set (sorted keys)."""
    items = tags.items() if isinstance(tags, Mapping) else tags
    return json.dumps(dict(sorted(items)), separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class HourRow:
    """One archived hour of one series (for export)."""

    measurement: str
    tags: dict[str, str]
    field: str
    hour_ns: int
    count: int
    mean: float
    min: float
    max: float
    delta: float | None


class Archive:
    """The hourly archive file and its in-memory accumulators."""

    def __init__(
        self, path: Path | str, *, clock: Clock, retention_years: int = 5, metrics: Metrics | None = None
    ) -> None:
        self.path = Path(path)
        self.clock = clock
        self.metrics = metrics or Metrics()
        _describe(self.metrics)
        self.retention_years = retention_years
        self._thread = SqliteThread("archive")
        self._lock = threading.Lock()
        self._acc: dict[SeriesKey, SeriesAcc] = {}
        self._tags_text: dict[tuple[tuple[str, str], ...], str] = {}  # tags -> tags_json(tags), bounded
        self._series: dict[SeriesKey, _Known] = {}  # what the file holds (archive thread only)
        self._pending_events: list[Event] = []
        self._closed = False
        self._db: sqlite3.Connection | None = None
        self._thread.call(self._db_open)

    # ------------------------------------------------------------ feeding

    def add(self, readings: Sequence[Reading]) -> None:
        """Fold committed readings into the hourly accumulators (thread-safe, in memory)."""
        with self._lock:
            for reading in readings:
                if reading.measurement == "event":
                    continue
                tags = self._tags_text.get(reading.tags)
                if tags is None:  # a series' tags are the same at every reading: their text is made once
                    tags = tags_json(reading.tags)
                    if len(self._tags_text) < _TAGS_TEXT_MAX:
                        self._tags_text[reading.tags] = tags
                hour = reading.time_ns // HOUR_NS
                for name, value in reading.fields:
                    if isinstance(value, str):
                        continue
                    key = (reading.measurement, tags, name)
                    acc = self._acc.get(key)
                    if acc is None:
                        acc = self._acc[key] = SeriesAcc(is_counter(name), {})
                    acc.fold(hour, reading.time_ns, float(value))

    def flush(self) -> int:
        """Write the accumulators to the file (blocking); return the hour rows written.

        All or nothing: on any error (``sqlite3.Error`` as SQLite raised it) the accumulators stay
        in memory, merged with what arrived meanwhile, for the next flush.
        """
        return int(self._call(self._db_flush))

    async def aflush(self) -> int:
        """:meth:`flush` from the event loop (runs on the archive's thread)."""
        return int(await self._thread.acall(self._db_flush))

    def prune(self) -> int:
        """Delete hours older than the retention; return the rows deleted."""
        return int(self._call(self._db_prune))

    async def aprune(self) -> int:
        """:meth:`prune` from the event loop."""
        return int(await self._thread.acall(self._db_prune))

    def take_events(self) -> list[Event]:
        """Events to raise once the core exists (a corrupt archive moved aside)."""
        with self._lock:
            events, self._pending_events = self._pending_events, []
        return events

    # ------------------------------------------------------------ queries

    def series(self, measurement: str, tags_filter: Mapping[str, str] | None, field: str, start_ns: int,
               end_ns: int) -> list[tuple[int, float, float, float]]:
        """``(hour_start_ns, mean, min, max)`` per hour in ``[start_ns, end_ns)``, oldest first.

        Several matching series (e.g. every thermometer of a building) are combined: mean
        weighted by sample count, min of mins, max of maxes.
        """
        result = self._call(self._db_series, measurement, dict(tags_filter or {}), field, start_ns, end_ns)
        return list(result)

    def counter_sum(self, measurement: str, tags_filter: Mapping[str, str] | None, field: str, start_ns: int,
                    end_ns: int, *, period: Literal["hour", "day", "month", "year"] = "day",
                    timezone: str = "Europe/Paris") -> list[tuple[int, float]]:
        """Counter totals (sum of hourly deltas over matching series) per local ``period``.

        Returns ``(period_start_ns, total)`` oldest first; periods start at local midnight /
        the 1st of the month in ``timezone`` (DST-safe).
        """
        hourly = self._call(self._db_deltas, measurement, dict(tags_filter or {}), field, start_ns, end_ns)
        return bucket_totals(hourly, period, ZoneInfo(timezone))

    def list_series(self, measurement: str | None = None) -> list[tuple[str, dict[str, str], str]]:
        """Every archived ``(measurement, tags, field)``."""
        return list(self._call(self._db_list_series, measurement))

    def pending(self) -> tuple[int, int]:
        """``(hour rows, readings)`` held in memory, not yet in the file."""
        with self._lock:
            return sum(len(a.hours) for a in self._acc.values()), sum(a.readings() for a in self._acc.values())

    def close(self) -> None:
        """Flush and close (idempotent); never raises for the disk.

        What cannot be flushed (a full or failing disk) is lost, and said: one error line with
        the figures, ``gateway_archive_lost_rows_total``. The raw points are in the journal.
        """
        if self._closed:
            return
        try:
            self.flush()
        except Exception as exc:
            rows, readings = self.pending()
            self.metrics.inc("gateway_archive_flush_errors_total")
            self.metrics.inc("gateway_archive_lost_rows_total", rows)
            log.error("archive: the last flush failed at stop (%s): %d hour rows of aggregates (%d readings) "
                      "are lost from the hourly archive (the raw points are in the journal)", exc, rows, readings)
        finally:
            self._closed = True
            self._thread.close(self._db_close)

    # ------------------------------------------------------------ archive thread

    def _call(self, fn: Callable[..., _T], *args: object) -> _T:
        if self._closed:
            raise RuntimeError("archive is closed")
        return self._thread.call(fn, *args)

    def _db_open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:  # cannot open, locked, disk full, I/O (not damage) raise: never move five years aside
            self._db = _connect(self.path, check=True)
        except UnusableFileError as exc:  # not a database, malformed, failed check, newer schema
            self._move_aside(exc)
        for series_id, measurement, tags, field, last_value in _require(self._db).execute(
            "SELECT id, measurement, tags, field, last_value FROM series"
        ):
            self._series[(measurement, tags, field)] = (int(series_id), last_value)

    def _move_aside(self, exc: UnusableFileError) -> None:
        """A damaged archive: keep it aside for analysis, start a fresh one, queue an event."""
        target = move_aside(self.path, "corrupt")
        log.error("archive %s is unusable (%s); moved aside to %s, starting a fresh one",
                  self.path, exc, target)
        self._pending_events.append(Event(
            kind="archive_recovered", subject="archive", severity="alarm", time_ns=self.clock.time_ns(),
            message=f"the hourly archive was unusable ({exc}); kept as {target.name}, "
            "a fresh one started",
        ))
        self._db = _connect(self.path, check=False)

    def _db_flush(self) -> int:
        with self._lock:
            acc, self._acc = self._acc, {}
        if not acc:
            return 0
        try:
            rows, stored = self._write(_require(self._db), acc)
        except BaseException:
            with self._lock:  # nothing left memory: merged in front of what arrived meanwhile
                self._acc = merge(acc, self._acc)
            self.metrics.inc("gateway_archive_flush_errors_total")
            raise
        self._series.update(stored)  # only now: the ids and last values are in the file
        self.metrics.inc("gateway_archive_flushed_rows_total", rows)
        return rows

    def _write(self, db: sqlite3.Connection, acc: dict[SeriesKey, SeriesAcc]) -> tuple[int, dict[SeriesKey, _Known]]:
        """One transaction; returns the rows written and the series state it stored (not applied yet)."""
        stored: dict[SeriesKey, _Known] = {}
        rows = 0
        db.execute("BEGIN IMMEDIATE")
        try:
            for key, series in acc.items():
                series_id, last_value = self._series_id(db, key, series.counter)
                deltas = {hour: h.delta for hour, h in series.hours.items()}
                if series.counter and series.head is not None and last_value is not None:
                    hour, value = series.head  # the increase from the last flushed sample into this batch
                    deltas[hour] = (deltas[hour] or 0.0) + increase(last_value, value)
                db.executemany(_UPSERT, [
                    (series_id, hour, h.count, h.total, h.low, h.high, h.first, h.last, deltas[hour])
                    for hour, h in series.hours.items()
                ])
                rows += len(series.hours)
                stored[key] = (series_id, last_value)
                if series.tail is not None:
                    db.execute("UPDATE series SET last_value = ?, last_ns = ? WHERE id = ?",
                               (series.tail[1], series.tail[0], series_id))
                    stored[key] = (series_id, series.tail[1])
            db.execute("COMMIT")
        except BaseException:
            rollback(db)
            raise
        return rows, stored

    def _series_id(self, db: sqlite3.Connection, key: SeriesKey, counter: bool) -> _Known:
        """The series' id and last stored value; a new series is inserted (in the caller's transaction)."""
        known = self._series.get(key)
        if known is not None:
            return known
        cursor = db.execute("INSERT INTO series (measurement, tags, field, counter) VALUES (?, ?, ?, ?)",
                            (*key, int(counter)))
        return int(cursor.lastrowid or 0), None

    def _db_prune(self) -> int:
        now = datetime.fromtimestamp(self.clock.time_ns() / 1e9, UTC)
        cutoff = now - timedelta(days=round(365.25 * self.retention_years))
        cutoff_hour = int(cutoff.timestamp()) // 3600
        db = _require(self._db)
        deleted = db.execute("DELETE FROM hourly WHERE hour < ?", (cutoff_hour,)).rowcount
        if deleted:
            log.info("archive: pruned %d hourly rows older than %s (%d years)", deleted,
                     cutoff.date(), self.retention_years)
        return int(deleted)

    def _db_series(self, measurement: str, tags_filter: dict[str, str], field: str,
                   start_ns: int, end_ns: int) -> list[tuple[int, float, float, float]]:
        return archive_queries.hourly_series(_require(self._db), measurement, tags_filter, field,
                                             start_ns=start_ns, end_ns=end_ns)

    def _db_deltas(self, measurement: str, tags_filter: dict[str, str], field: str,
                   start_ns: int, end_ns: int) -> list[tuple[int, float]]:
        return archive_queries.hourly_deltas(_require(self._db), measurement, tags_filter, field,
                                             start_ns=start_ns, end_ns=end_ns)

    def _db_list_series(self, measurement: str | None) -> list[tuple[str, dict[str, str], str]]:
        db = _require(self._db)
        rows = db.execute("SELECT measurement, tags, field FROM series ORDER BY measurement, tags, field")
        return [(m, json.loads(t), f) for m, t, f in rows if measurement in (None, m)]

    def _db_close(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error as exc:  # a checkpoint on a failing disk: the WAL is replayed at the next open
                log.warning("archive: closing %s: %s", self.path, exc)
            self._db = None


def _require(db: sqlite3.Connection | None) -> sqlite3.Connection:
    if db is None:
        raise RuntimeError("archive is not open")
    return db


SCHEMA = Schema("archive", SCHEMA_VERSION, {0: script(";".join(_SCHEMA))})
#: WAL + NORMAL: never corrupt, may lose the last flush (the raw points are in the journal)
PRAGMAS = Pragmas(synchronous="NORMAL")


def _connect(path: Path, *, check: bool) -> sqlite3.Connection:
    """Open (creating or checking) the archive file; raise :class:`UnusableFileError` if damaged or newer."""
    db, _ = storage.connect(path, schema=SCHEMA, pragmas=PRAGMAS, quick_check="open" if check else "never")
    return db


def bucket_totals(
    hourly: Sequence[tuple[int, float]], period: str, zone: ZoneInfo
) -> list[tuple[int, float]]:
    """Sum ``(hour_start_ns, value)`` into local days, months or years (or keep hours)."""
    totals: dict[int, float] = {}
    for hour_ns, value in hourly:
        if period == "hour":
            start = hour_ns
        else:
            local = datetime.fromtimestamp(hour_ns / 1e9, zone)
            day = local.replace(hour=0, minute=0, second=0, microsecond=0)
            if period == "month":
                day = day.replace(day=1)
            elif period == "year":
                day = day.replace(month=1, day=1)
            elif period != "day":
                raise ValueError(f"unknown period {period!r}: hour, day, month or year")
            start = int(day.timestamp()) * 1_000_000_000
        totals[start] = totals.get(start, 0.0) + value
    return sorted(totals.items())


def read_hours(path: Path | str, start_ns: int, end_ns: int) -> Iterator[HourRow]:
    """Every archived hour in ``[start_ns, end_ns)``, series by series (read-only, paged by SQLite).

    Opens its own read-only connection: safe while the daemon runs (WAL readers never block it).
    """
    db = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True)
    try:
        names = {int(i): (m, json.loads(t), f) for i, m, t, f in
                 db.execute("SELECT id, measurement, tags, field FROM series")}
        query = db.execute(
            "SELECT series_id, hour, count, sum, min, max, delta FROM hourly INDEXED BY hourly_hour"
            " WHERE hour >= ? AND hour < ? ORDER BY hour, series_id",
            (hour_ceil(start_ns), hour_ceil(end_ns)),
        )
        for series_id, hour, count, total, low, high, delta in query:
            measurement, tags, field = names[int(series_id)]
            yield HourRow(measurement, tags, field, int(hour) * HOUR_NS, int(count), float(total) / count,
                          float(low), float(high), delta)
    finally:
        db.close()
