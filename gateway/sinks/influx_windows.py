"""What an InfluxDB sink sends: windows of journal rows cut into lanes and batches (pure helpers).

Rules of this module:
- no I/O: these are the shapes the sink (:mod:`gateway.sinks.influx`) works with, and the pure
  functions that cut a fetched window into concurrent lanes (each series in one lane, in order)
  and requests of about the batch size;
- a line's timestamp is read back from its last word (line protocol).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["JournalRowLike", "SinkJournal"]


class JournalRowLike(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def line(self) -> bytes: ...


class SinkJournal(Protocol):
    """The part of :class:`gateway.journal.Journal` a sink uses."""

    async def fetch(
        self, sink: str, limit: int = 5000, max_bytes: int = 1_000_000, after: int | None = None
    ) -> Sequence[JournalRowLike]: ...

    async def advance(self, sink: str, last_id: int) -> None: ...


@dataclass
class _Health:
    """Failure bookkeeping: one log line and one event per state change."""

    failures: int = 0
    failing_since: float | None = None
    down: bool = False
    problem: str | None = None  # "auth" / "not_found" / "tls" once reported loudly
    last_kind: str = ""
    last_message: str = ""
    reported: set[str] = field(default_factory=set)


def _line_time_ns(line: bytes) -> int | None:
    """The timestamp at the end of a line of line protocol."""
    _, _, tail = line.rpartition(b" ")
    try:
        return int(tail)
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class _Batch:
    """One request's lines and its encoded body."""

    lines: list[bytes]
    body: bytes
    gzipped: bool


@dataclass(frozen=True, slots=True)
class _Window:
    """One fetched window, cut into lanes of encoded batches, ready to send."""

    last_id: int
    first_ts: int | None
    full: bool  # the fetch hit its limit: more backlog behind it
    lanes: list[list[_Batch]]


def _chunks(lines: list[bytes], batch: int, max_batch: int) -> list[list[bytes]]:
    """Cut ``lines`` into requests of about ``batch`` lines (equal sizes, at most a quarter more).

    A lane of 5,200 lines with a batch of 5,000 goes as one request, not 5,000 + 200.
    """
    limit = max(batch, min(max_batch, batch + batch // 4))
    count = max(1, math.ceil(len(lines) / limit))
    size = math.ceil(len(lines) / count)
    return [lines[i : i + size] for i in range(0, len(lines), size)]


def _lanes(lines: list[bytes], count: int) -> list[list[bytes]]:
    """Split ``lines`` into ``count`` lanes by series, keeping order inside each lane.

    Lanes are delivered concurrently, so a series must stay in one lane for its points to
    reach the server oldest first. The part before the first space is a function of the
    series (measurement and tags, escaped), whatever the escaping, so it is a sound key.
    """
    lanes: list[list[bytes]] = [[] for _ in range(count)]
    for line in lines:
        lanes[hash(line.split(b" ", 1)[0]) % count].append(line)
    return [lane for lane in lanes if lane]
