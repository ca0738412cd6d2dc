"""The disk budget: past it the OLDEST unsent rows go, counted per sink, logged once, never the newest."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import lineproto
from gateway.clock import SystemClock
from gateway.journal import Journal
from gateway.metrics import Metrics
from gateway.model import Event, Reading

from .test_journal import T0


def reading(i: int) -> Reading:
    """A meter reading whose values look measured (journal blocks are compressed: noise fills the budget)."""
    noise = random.Random(i)
    return Reading.make("meter", {"site": "st-martin", "device": f"m{i % 7}"},
                        {f"value_{k}": noise.uniform(0, 1000) for k in range(6)},
                        time_ns=T0 + i * 1_000_000_000)

BUDGET = 1024 * 1024  # 1 MiB: a few thousand rows


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def journal(tmp_path: Path, metrics: Metrics) -> Iterator[Journal]:
    j = Journal(tmp_path / "journal.sqlite", sinks=("local", "remote"), metrics=metrics, clock=SystemClock(),
                budget_bytes=BUDGET)
    yield j
    j.close()


def fill(journal: Journal, start: int, count: int) -> None:
    for i in range(start, start + count):
        journal.append(reading(i))
    journal.commit()


def test_past_the_budget_the_oldest_unsent_rows_are_dropped_and_counted_per_sink(
    journal: Journal, metrics: Metrics, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[Event] = []
    journal.set_event_handler(events.append)
    fill(journal, 0, 2000)
    local = journal.fetch_sync("local", limit=1500)
    journal.advance_sync("local", local[-1].id)  # local is up to date to 1500; remote is down
    with caplog.at_level(logging.WARNING, "gateway.journal"):
        total = 2000
        for _ in range(12):
            fill(journal, total, 2000)
            total += 2000
    stats = journal.stats()
    assert stats.used_bytes <= BUDGET * 1.05
    remote, local_s = stats.sinks["remote"], stats.sinks["local"]
    assert remote.dropped > 0
    # nothing vanishes silently: each sink's delivered + dropped + backlog is everything committed
    assert remote.delivered + remote.dropped + remote.backlog == total
    assert local_s.delivered + local_s.dropped + local_s.backlog == total
    assert local_s.dropped == remote.dropped - 1500  # local had already taken the first 1500
    # the rows left are the newest, contiguous up to the last one committed
    rows = journal.fetch_sync("remote", limit=100_000, max_bytes=100_000_000)
    assert [r.id for r in rows] == list(range(total - len(rows) + 1, total + 1))
    assert rows[-1].line == lineproto.encode(reading(total - 1))
    assert rows[0].id == remote.dropped + 1
    # metrics and one log line per episode
    assert metrics.get("gateway_journal_dropped_total", sink="remote") == remote.dropped
    assert metrics.get("gateway_journal_dropped_total", sink="local") == local_s.dropped
    assert caplog.text.count("over its disk budget") == 1
    assert [e.kind for e in events] == ["journal_budget"]


def test_dropped_counts_are_persisted(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path, sinks=("remote",), metrics=Metrics(), clock=SystemClock(), budget_bytes=BUDGET)
    for n in range(8):
        fill(journal, n * 2000, 2000)
    dropped = journal.stats().sinks["remote"].dropped
    assert dropped > 0
    journal.close()
    metrics = Metrics()
    journal = Journal(path, sinks=("remote",), metrics=metrics, clock=SystemClock(), budget_bytes=BUDGET)
    assert journal.stats().sinks["remote"].dropped == dropped
    assert metrics.get("gateway_journal_dropped_total", sink="remote") == dropped
    journal.close()


def test_the_window_just_committed_is_never_dropped(journal: Journal) -> None:
    fill(journal, 0, 300)
    stats = journal.stats()
    assert (stats.rows, stats.sinks["remote"].dropped) == (300, 0)
    fill(journal, 300, 10_000)  # one window larger than the whole budget: committed in slices, oldest first
    stats = journal.stats()
    remote = stats.sinks["remote"]
    assert remote.dropped > 300  # the older window went first, then the oldest slices of this one
    rows = journal.fetch_sync("remote", limit=100_000, max_bytes=100_000_000)
    assert [r.id for r in rows] == list(range(remote.dropped + 1, 10_301))  # the newest rows, up to the last
    assert rows[-1].line == lineproto.encode(reading(10_299))
    assert stats.bytes_on_disk <= BUDGET


def test_back_under_budget_is_logged_once(journal: Journal, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "gateway.journal"):
        for n in range(8):
            fill(journal, n * 2000, 2000)
        for sink in ("local", "remote"):
            journal.advance_sync(sink, journal.stats().last_id)
        journal.commit()
        fill(journal, 16_000, 10)
    assert caplog.text.count("over its disk budget") == 1
    assert caplog.text.count("back under its budget") == 1
    assert not journal.stats().over_budget


def test_a_budget_of_several_segments_drops_whole_segments_first(tmp_path: Path) -> None:
    import sqlite3

    from gateway.journal_schema import SEGMENT_ROWS, segments

    path = tmp_path / "journal.sqlite"
    journal = Journal(path, sinks=("remote",), metrics=Metrics(), clock=SystemClock(),
                      budget_bytes=4 * 1024 * 1024)
    total = 0
    for _ in range(10):
        fill(journal, total, 8000)
        total += 8000
    stats = journal.stats()
    remote = stats.sinks["remote"]
    assert stats.used_bytes <= 4 * 1024 * 1024 * 1.05
    assert remote.dropped + remote.backlog == total  # nothing silent
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    present = segments(db)
    db.close()
    assert present[0] > 0  # the oldest segments went whole
    assert present[-1] == total // SEGMENT_ROWS
    rows = journal.fetch_sync("remote", limit=100_000, max_bytes=10**9)
    assert rows[0].id == remote.dropped + 1
    assert rows[-1].line == lineproto.encode(reading(total - 1))


def test_a_read_ahead_skips_rows_the_budget_dropped_and_they_are_counted(journal: Journal, metrics: Metrics) -> None:
    fill(journal, 0, 2000)
    in_flight = journal.fetch_sync("remote", limit=500)  # a window in flight, read ahead after it
    assert journal.fetch_sync("remote", limit=1, after=in_flight[-1].id)[0].id == 501
    total = 2000
    for _ in range(12):  # remote is slow: the budget drops its oldest rows meanwhile
        fill(journal, total, 2000)
        total += 2000
    remote = journal.stats().sinks["remote"]
    assert remote.at_risk == 501  # the rows it holds in flight: neither delivered nor dropped yet
    assert remote.dropped + remote.at_risk + remote.backlog == total
    # A read-ahead after the window in flight starts at the oldest row still kept, not at a hole...
    ahead = journal.fetch_sync("remote", limit=100_000, max_bytes=10**9, after=in_flight[-1].id)
    kept = ahead[0].id - 1
    assert [r.id for r in ahead] == list(range(kept + 1, total + 1))
    # ...which gave up the one row read ahead before (501): that one is dropped now
    assert journal.stats().sinks["remote"].dropped == kept - 500
    # the late delivery of the window in flight counts as delivered, and moves the cursor nowhere
    journal.advance_sync("remote", in_flight[-1].id)
    after = journal.stats().sinks["remote"]
    assert (after.cursor, after.dropped, after.delivered, after.at_risk) == (remote.cursor, kept - 500, 500, 0)
    assert after.delivered + after.dropped + after.backlog == total
    assert metrics.get("gateway_journal_dropped_total", sink="remote") == kept - 500


def test_a_window_delivered_while_the_budget_drops_it_is_counted_delivered_not_dropped(
    journal: Journal, metrics: Metrics
) -> None:
    """The audit's case: 6,201 counted dropped when 6,101 were missing at the server."""
    fill(journal, 0, 2000)
    received: set[int] = set()
    window = journal.fetch_sync("remote", limit=100)  # a batch in flight...
    total = 2000
    for _ in range(8):  # ...while the budget drops the oldest rows, the batch among them
        fill(journal, total, 2000)
        total += 2000
    received.update(r.id for r in window)  # the server took it: 2xx
    journal.advance_sync("remote", window[-1].id)
    while rows := journal.fetch_sync("remote", limit=5000, max_bytes=10**9):  # the sink drains the rest
        received.update(r.id for r in rows)
        journal.advance_sync("remote", rows[-1].id)
    missing = total - len(received)
    remote = journal.stats().sinks["remote"]
    assert missing > 0
    assert (remote.dropped, remote.delivered, remote.at_risk) == (missing, len(received), 0)
    assert metrics.get("gateway_journal_dropped_total", sink="remote") == missing


def test_a_window_given_up_after_the_budget_dropped_it_is_counted_dropped(journal: Journal) -> None:
    fill(journal, 0, 2000)
    journal.fetch_sync("remote", limit=100)  # in flight; the server fails; the sink fetches again
    total = 2000
    for _ in range(8):
        fill(journal, total, 2000)
        total += 2000
    received = 0
    while rows := journal.fetch_sync("remote", limit=5000, max_bytes=10**9):  # from its cursor: gave up
        received += len(rows)
        journal.advance_sync("remote", rows[-1].id)
    remote = journal.stats().sinks["remote"]
    assert (remote.dropped, remote.delivered, remote.at_risk) == (total - received, received, 0)


def test_rows_at_risk_when_the_journal_closes_are_stored_as_dropped(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path, sinks=("remote",), metrics=Metrics(), clock=SystemClock(), budget_bytes=BUDGET)
    fill(journal, 0, 2000)
    journal.fetch_sync("remote", limit=100)  # in flight when the daemon stops
    for n in range(1, 8):
        fill(journal, n * 2000, 2000)
    remote = journal.stats().sinks["remote"]
    journal.close()
    journal = Journal(path, sinks=("remote",), metrics=Metrics(), clock=SystemClock(), budget_bytes=BUDGET)
    again = journal.stats().sinks["remote"]
    assert again.dropped == remote.dropped + remote.at_risk == 16_000 - again.backlog
    journal.close()
