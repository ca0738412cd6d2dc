"""What the journal reports: rows handed to sinks, and snapshots for the admin page and /metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from gateway.metrics import Metrics


class JournalRow(NamedTuple):
    """One committed point: its dense, increasing id and its line protocol (a tuple: a fetch makes thousands)."""

    id: int
    line: bytes


@dataclass(frozen=True, slots=True)
class SinkStats:
    """Where one sink stands."""

    cursor: int
    backlog: int  # committed rows not yet delivered
    lag_s: float | None  # age of the oldest undelivered point (measurement time), None when caught up
    dropped: int  # rows dropped by the disk budget before this sink got them (persisted)
    delivered: int
    last_success_ns: int | None
    # rows the budget removed while the sink had them in flight: delivered if it acknowledges them,
    # dropped if it gives them up (fetches again from before them) or stops
    at_risk: int = 0


@dataclass(frozen=True, slots=True)
class JournalStats:
    """A snapshot for the admin page, /metrics and health (cheap: no SQLite access)."""

    path: str
    durable: bool  # False when running in memory because the file could not be opened
    rows: int
    bytes_on_disk: int  # database + WAL files
    used_bytes: int  # pages in use (free pages excluded): what the budget limits
    budget_bytes: int
    last_id: int
    buffered: int  # readings waiting for the next group commit
    buffer_overflow: int  # readings dropped because the in-memory buffer was full (disk stuck)
    commits: int
    committed: int  # rows committed since start
    last_commit_ns: int | None
    last_commit_s: float  # duration of the last group commit
    write_errors: int
    written_bytes: int  # bytes the journal thread caused to be written to disk (/proc/thread-self/io)
    over_budget: bool
    sinks: dict[str, SinkStats] = field(default_factory=dict)
    recovered_from: str | None = None  # where a corrupt journal was moved at start
    write_failing: bool = False  # the last group commit failed (disk full, I/O error): readings wait in memory
    lost: int = 0  # readings lost without reaching the disk, held in memory at a stop (persisted)


def describe_metrics(m: Metrics) -> None:
    """Declare the journal's metrics (kinds and help texts for /metrics)."""
    m.describe("gateway_journal_rows", "gauge", "rows in the journal (not yet delivered by all sinks)")
    m.describe("gateway_journal_bytes", "gauge", "journal size on disk (database + WAL), bytes")
    m.describe("gateway_journal_used_bytes", "gauge", "journal pages in use, bytes (budget applies)")
    m.describe("gateway_journal_budget_bytes", "gauge", "journal disk budget, bytes")
    m.describe("gateway_journal_backlog", "gauge", "rows a sink has not delivered yet")
    m.describe("gateway_journal_lag_seconds", "gauge", "age of the oldest point a sink has not delivered")
    m.describe("gateway_journal_dropped_total", "counter", "points dropped by the disk budget, per sink")
    m.describe("gateway_journal_delivered_total", "counter", "points a sink delivered")
    m.describe("gateway_journal_committed_total", "counter", "points committed to the journal")
    m.describe("gateway_journal_commit_seconds", "gauge", "duration of the last group commit")
    m.describe("gateway_journal_write_errors_total", "counter", "group commits that failed")
    m.describe("gateway_journal_written_bytes_total", "counter",
               "bytes the journal wrote to disk (WAL, checkpoints): the SD card's wear")
    m.describe("gateway_journal_buffer_overflow_total", "counter", "readings dropped: memory buffer full")
    m.describe("gateway_journal_rejected_total", "counter", "readings rejected: cannot be encoded (a bug)")
    m.describe("gateway_journal_write_failing", "gauge", "1 while group commits fail (disk full, I/O error)")
    m.describe("gateway_journal_lost_total", "counter",
               "readings lost before reaching the disk: held in memory at a stop while it failed (persisted)")
