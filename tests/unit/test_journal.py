"""The journal: group commit, cursors across a restart, paging, buffer bound, listeners."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gateway import lineproto
from gateway.clock import SystemClock
from gateway.journal import Journal, JournalRow
from gateway.metrics import Metrics
from gateway.model import Reading

T0 = 1_780_000_000 * 1_000_000_000


def reading(i: int) -> Reading:
    return Reading.make("meter", {"site": "st-martin", "device": f"m{i % 7}"},
                        {"power_w": float(i), "energy_import_kwh": i / 10}, time_ns=T0 + i * 1_000_000_000)


def open_journal(path: Path, sinks: tuple[str, ...] = ("local", "remote"), **kwargs: object) -> Journal:
    return Journal(path, sinks=sinks, metrics=kwargs.pop("metrics", Metrics()), clock=SystemClock(),  # type: ignore[arg-type]
                   **kwargs)  # type: ignore[arg-type]


async def drain(journal: Journal, sink: str, *, limit: int = 5000) -> list[JournalRow]:
    """Fetch and acknowledge everything the sink has not delivered yet."""
    out: list[JournalRow] = []
    while rows := await journal.fetch(sink, limit=limit):
        out.extend(rows)
        await journal.advance(sink, rows[-1].id)
    return out


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite"


async def test_rows_become_visible_only_at_the_group_commit(path: Path) -> None:
    journal = open_journal(path, commit_interval_s=0.05)
    committed: list[int] = []
    journal.add_commit_listener(committed.append)
    for i in range(100):
        journal.append(reading(i))
    assert await journal.fetch("local") == []  # in memory, not yet acknowledged
    task = asyncio.create_task(journal.run())
    for _ in range(100):
        await asyncio.sleep(0.02)
        if committed:
            break
    rows = await journal.fetch("local")
    assert [r.id for r in rows] == list(range(1, 101))
    assert committed == [100]  # one transaction for the whole window, not one per point
    assert journal.stats().commits == 1
    assert rows[0].line == lineproto.encode(reading(0))
    journal.append(reading(100))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert committed == [100, 101]  # the final commit on the way out
    journal.close()


async def test_cursors_survive_a_restart_nothing_lost_nothing_duplicated(path: Path) -> None:
    expected = [lineproto.encode(reading(i)) for i in range(3000)]
    journal = open_journal(path)
    for i in range(2000):
        journal.append(reading(i))
    journal.commit()
    first = await journal.fetch("local", limit=700)
    await journal.advance("local", first[-1].id)
    journal.close()

    journal = open_journal(path)
    stats = journal.stats()
    assert stats.sinks["local"].cursor == 700
    assert stats.sinks["local"].backlog == 1300
    assert stats.sinks["remote"].backlog == 2000
    for i in range(2000, 3000):
        journal.append(reading(i))
    journal.commit()
    local = first + await drain(journal, "local", limit=450)
    remote = await drain(journal, "remote")
    assert [r.line for r in local] == expected
    assert [r.line for r in remote] == expected
    journal.commit()  # persists the cursors and deletes what both sinks delivered
    assert journal.stats().rows == 0
    journal.close()

    journal = open_journal(path)
    assert await journal.fetch("local") == []
    journal.append(reading(3000))
    journal.commit()
    (row,) = await journal.fetch("remote")
    assert row.id == 3001  # ids keep increasing after the table was emptied: no cursor confusion
    journal.close()


def test_a_killed_process_loses_nothing_it_committed(path: Path) -> None:
    """SIGKILL right after a commit: every committed row is there, cursors as last committed."""
    child = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_journal import open_journal, reading
        from pathlib import Path
        j = open_journal(Path({str(path)!r}))
        for i in range(5000):
            j.append(reading(i))
        j.commit()
        j.advance_sync("local", 1234)
        j.commit()                  # an explicit commit saves the cursor
        j.advance_sync("local", 4000)
        for i in range(5000, 5100):
            j.append(reading(i))
        j.commit(save_cursors=False)    # like the loop between cursor saves: rows durable, cursor not yet
        for i in range(5100, 5150):
            j.append(reading(i))    # never committed: the window a power cut may lose
        print("committed", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).parents[2], check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert proc.stdout.strip() == "committed"
    journal = open_journal(path)
    stats = journal.stats()
    assert stats.last_id == 5100  # every committed row, none of the uncommitted window
    assert stats.sinks["local"].cursor == 1234  # local resends 1235..4000: overwritten, not duplicated
    rows = journal.fetch_sync("remote", limit=10_000)
    assert [r.line for r in rows] == [lineproto.encode(reading(i)) for i in range(5100)]
    journal.close()


async def test_fetch_is_paged_by_rows_and_bytes(path: Path) -> None:
    journal = open_journal(path)
    for i in range(5000):
        journal.append(reading(i))
    journal.commit()
    rows = await journal.fetch("local", limit=100)
    assert len(rows) == 100
    line_size = len(rows[0].line) + 1
    rows = await journal.fetch("local", limit=5000, max_bytes=20 * line_size)
    assert 15 <= len(rows) <= 20
    assert sum(len(r.line) + 1 for r in rows) <= 20 * line_size + line_size
    rows = await journal.fetch("local", max_bytes=1)
    assert len(rows) == 1  # always progress, even when one line exceeds max_bytes
    journal.close()


async def test_unknown_sink_and_impossible_advance_are_refused(path: Path) -> None:
    journal = open_journal(path)
    journal.append(reading(0))
    journal.commit()
    with pytest.raises(KeyError, match="unknown journal sink 'nope'"):
        await journal.fetch("nope")
    with pytest.raises(ValueError, match="past the last committed row"):
        await journal.advance("local", 99)
    await journal.advance("local", 1)
    await journal.advance("local", 0)  # a regression (resend after restart) is ignored
    assert journal.stats().sinks["local"].cursor == 1
    journal.close()


async def test_a_sink_added_later_starts_at_the_oldest_kept_row(path: Path) -> None:
    journal = open_journal(path, sinks=("local",))
    for i in range(10):
        journal.append(reading(i))
    journal.commit()
    journal.close()
    journal = open_journal(path, sinks=("local", "mqtt"))
    assert [r.id for r in await journal.fetch("mqtt")] == list(range(1, 11))
    journal.register_sink("archive-check")
    assert len(await journal.fetch("archive-check")) == 10
    journal.close()


def test_removed_sinks_no_longer_hold_rows(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    journal = open_journal(path, sinks=("local", "old"))
    for i in range(10):
        journal.append(reading(i))
    journal.commit()
    journal.advance_sync("local", 10)
    journal.close()
    with caplog.at_level(logging.INFO, "gateway.journal"):
        journal = open_journal(path, sinks=("local",))
    assert "sink 'old' is no longer configured" in caplog.text
    journal.commit()
    assert journal.stats().rows == 0
    journal.close()


def test_the_memory_buffer_is_bounded_and_overflow_is_counted(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()
    journal = open_journal(path, buffer_points=1000, metrics=metrics)
    with caplog.at_level(logging.ERROR, "gateway.journal"):
        for i in range(1500):
            journal.append(reading(i))
    assert journal.stats().buffered == 1000
    assert journal.stats().buffer_overflow == 500
    assert metrics.get("gateway_journal_buffer_overflow_total") == 500
    assert caplog.text.count("journal buffer full") == 1  # once, not per reading
    assert journal.commit() == 1000
    rows = journal.fetch_sync("local", limit=2000)
    assert rows[-1].line == lineproto.encode(reading(1499))  # the newest are kept
    assert rows[0].line == lineproto.encode(reading(500))
    journal.close()


def test_stats_and_metrics_report_backlog_lag_and_size(path: Path) -> None:
    metrics = Metrics()
    journal = open_journal(path, metrics=metrics)
    for i in range(100):
        journal.append(reading(i))
    journal.commit()
    journal.advance_sync("local", 40)
    journal.commit()
    stats = journal.stats()
    assert stats.rows == 100  # local delivered 1..40, but remote still needs them
    assert stats.sinks["local"].backlog == 60
    assert stats.sinks["local"].delivered == 40
    assert stats.sinks["local"].last_success_ns is not None
    assert stats.sinks["remote"].backlog == 100
    assert stats.sinks["remote"].lag_s is not None
    assert stats.sinks["remote"].lag_s > 0
    assert stats.bytes_on_disk > 0
    assert stats.used_bytes > 0
    assert metrics.get("gateway_journal_backlog", sink="remote") == 100
    assert metrics.get("gateway_journal_delivered_total", sink="local") == 40
    assert metrics.get("gateway_journal_committed_total") == 100
    assert metrics.get("gateway_journal_bytes") == stats.bytes_on_disk
    journal.close()


def test_no_sink_means_rows_do_not_accumulate(path: Path) -> None:
    journal = open_journal(path, sinks=())
    for i in range(100):
        journal.append(reading(i))
    journal.commit()
    journal.commit()
    assert journal.stats().rows == 0
    journal.close()


def test_file_stays_small_when_sinks_keep_up(path: Path) -> None:
    """Delivered rows are deleted and their pages reused: the file does not grow with traffic."""
    journal = open_journal(path, sinks=("local",))
    sizes = []
    for round_ in range(20):
        for i in range(2000):
            journal.append(reading(round_ * 2000 + i))
        journal.commit()
        journal.advance_sync("local", journal.stats().last_id)
        journal.commit()
        sizes.append(journal.stats().used_bytes)
    assert max(sizes[10:]) <= 1.1 * max(sizes[:10])  # pages in use plateau (delivered rows go in batches)
    assert journal.stats().bytes_on_disk < 20 * 1024 * 1024  # database + WAL (size-limited)
    journal.close()


def on_journal_thread(journal: Journal, sql: str) -> object:
    """Test seam: run one statement on the journal's private connection, on its own thread."""
    return journal._call(lambda: journal._db.execute(sql).fetchone()[0])  # type: ignore[union-attr]


def test_a_full_disk_keeps_the_window_in_memory_and_recovers(path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """SQLite's own SQLITE_FULL (the file may not grow) stands in for a full SD card."""
    metrics = Metrics()
    journal = open_journal(path, metrics=metrics)
    events: list[object] = []
    journal.set_event_handler(events.append)
    journal.append(reading(0))
    journal.commit()
    pages = on_journal_thread(journal, "PRAGMA page_count")
    on_journal_thread(journal, f"PRAGMA max_page_count = {pages}")  # the file may not grow any more
    with caplog.at_level(logging.ERROR, "gateway.journal"):
        for attempt in range(3):
            for i in range(1 + attempt * 1000, 1 + (attempt + 1) * 1000):
                journal.append(reading(i))
            assert journal.commit() == 0
    assert journal.stats().buffered == 3000  # nothing lost, nothing acknowledged
    assert journal.stats().write_errors == 3
    assert caplog.text.count("journal commit failed") == 1  # once per episode, not per attempt
    assert [e.kind for e in events] == ["journal_write_failed"]  # type: ignore[attr-defined]
    on_journal_thread(journal, "PRAGMA max_page_count = 1000000")  # space again
    assert journal.commit() == 3000
    rows = journal.fetch_sync("local", limit=10_000, max_bytes=10**8)
    assert [r.line for r in rows] == [lineproto.encode(reading(i)) for i in range(3001)]  # in order
    journal.close()


def test_a_stuck_disk_never_blocks_append_or_stats(path: Path) -> None:
    """While the journal thread hangs (an SD card that stalls), producers and the web page go on."""
    import threading

    journal = open_journal(path)
    gate = threading.Event()
    journal._thread.submit(gate.wait)  # test seam: the journal's one thread is stuck

    def produce() -> None:
        for i in range(1000):
            journal.append(reading(i))

    producer = threading.Thread(target=produce)
    producer.start()
    producer.join(10)
    assert not producer.is_alive()  # append returned although the disk is stuck
    assert journal.stats().buffered == 1000  # stats() does not touch SQLite either
    gate.set()
    assert journal.commit() == 1000
    journal.close()


def segments_on_disk(path: Path) -> list[int]:
    """The segment tables in the file, read by a separate read-only connection."""
    import sqlite3

    from gateway.journal_schema import segments

    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return segments(db)
    finally:
        db.close()


def test_fetch_crosses_segments_and_delivered_segments_are_dropped_whole(path: Path) -> None:
    from gateway.journal_schema import SEGMENT_ROWS

    journal = open_journal(path, sinks=("local",))
    total = 2 * SEGMENT_ROWS + 100  # ids 1 .. 2 * SEGMENT_ROWS + 100: segments 0, 1 and 2
    for i in range(total):
        journal.append(reading(i))
    journal.commit()
    assert segments_on_disk(path) == [0, 1, 2]
    journal.advance_sync("local", SEGMENT_ROWS - 5)
    rows = journal.fetch_sync("local", limit=10)
    assert [r.id for r in rows] == list(range(SEGMENT_ROWS - 4, SEGMENT_ROWS + 6))  # across the boundary
    assert rows[5].line == lineproto.encode(reading(SEGMENT_ROWS))
    journal.advance_sync("local", 2 * SEGMENT_ROWS + 50)
    journal.commit()
    assert segments_on_disk(path) == [2]  # 0 and 1 delivered: dropped; the newest stays
    assert journal.stats().sinks["local"].backlog == 50
    journal.close()
    journal = open_journal(path, sinks=("local",))  # after a restart: same cursor, same ids
    assert [r.id for r in journal.fetch_sync("local", limit=100)] == list(range(2 * SEGMENT_ROWS + 51, total + 1))
    journal.append(reading(total))
    journal.commit()
    assert journal.stats().last_id == total + 1
    journal.close()


def test_fetch_after_reads_ahead_across_segments_without_moving_the_cursor(path: Path) -> None:
    from gateway.journal_schema import SEGMENT_ROWS

    journal = open_journal(path, sinks=("remote",))
    total = SEGMENT_ROWS + 300  # segments 0 and 1
    for i in range(total):
        journal.append(reading(i))
    journal.commit()
    # Given a window in flight (ids 1..SEGMENT_ROWS-10), when the sink reads the next ones ahead...
    in_flight = journal.fetch_sync("remote", limit=SEGMENT_ROWS - 10, max_bytes=10**9)
    ahead = journal.fetch_sync("remote", limit=20, after=in_flight[-1].id)
    # ...then they follow it, across the segment boundary, and the cursor has not moved.
    assert [r.id for r in ahead] == list(range(SEGMENT_ROWS - 9, SEGMENT_ROWS + 11))
    assert ahead[9].line == lineproto.encode(reading(SEGMENT_ROWS - 1))
    assert journal.stats().sinks["remote"].cursor == 0
    assert journal.stats().sinks["remote"].backlog == total
    assert [r.id for r in journal.fetch_sync("remote", limit=3)] == [1, 2, 3]  # still from the cursor
    # Paging ahead window by window reaches every row once, in order, the cursor still untouched.
    seen: list[int] = []
    after = 0
    while rows := journal.fetch_sync("remote", limit=1000, after=after):
        seen.extend(r.id for r in rows)
        after = rows[-1].id
    assert seen == list(range(1, total + 1))
    assert journal.stats().sinks["remote"].cursor == 0
    # Behind the cursor: ``after`` never returns delivered rows again.
    journal.advance_sync("remote", 500)
    assert journal.fetch_sync("remote", limit=2, after=100)[0].id == 501
    journal.advance_sync("remote", 400)  # monotonic: going back is ignored
    assert journal.stats().sinks["remote"].cursor == 500
    journal.close()
    journal = open_journal(path, sinks=("remote",))  # the read-ahead left nothing persisted
    assert journal.fetch_sync("remote", limit=1)[0].id == 501
    journal.close()


async def test_a_bug_inside_the_commit_keeps_the_window_for_the_next_commit(path: Path, monkeypatch) -> None:
    metrics = Metrics()
    journal = open_journal(path, sinks=("local",), metrics=metrics)
    try:
        for i in range(1, 6):
            journal.append(reading(i))
        real = journal._enforce_budget
        calls = {"n": 0}

        def fails_once(*args: object, **kwargs: object) -> object:
            calls["n"] += 1
            if calls["n"] == 1:
                raise RuntimeError("a bug in the budget code")
            return real(*args, **kwargs)

        monkeypatch.setattr(journal, "_enforce_budget", fails_once)
        assert journal.commit() == 0  # rolled back, nothing acknowledged
        assert journal.stats().buffered == 5  # the window is back in the buffer, not lost
        assert metrics.get("gateway_journal_write_errors_total") == 1
        assert journal.commit() == 5
        rows = await drain(journal, "local")
        assert [lineproto.parse(row.line)[2]["power_w"] for row in rows] == [1.0, 2.0, 3.0, 4.0, 5.0]
    finally:
        journal.close()
