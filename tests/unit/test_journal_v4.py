"""Journal schema v4: compressed blocks, and the migration from v3 that loses nothing."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from gateway import journal_blocks, journal_schema, lineproto
from gateway.journal_blocks import BLOCK_ROWS, SEGMENT_ROWS

from .test_journal import open_journal, reading


def v3_file(path: Path, ids: range, cursors: dict[str, tuple[int, int, int]]) -> None:
    """A journal as a v3 gateway left it: one row per reading in ``points_<n>`` segments."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    for version in range(3):
        journal_schema.MIGRATIONS[version](db)
    db.execute("PRAGMA user_version = 3")
    for seq in sorted({i // SEGMENT_ROWS for i in ids}):
        db.execute(f"CREATE TABLE points_{seq} (id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, line BLOB NOT NULL)")
    db.execute("BEGIN")
    for i in ids:
        db.execute(f"INSERT INTO points_{i // SEGMENT_ROWS} VALUES (?, ?, ?)",
                   (i, reading(i).time_ns, lineproto.encode(reading(i))))
    for sink, (last_id, dropped, delivered) in cursors.items():
        db.execute("INSERT INTO cursors (sink, last_id, dropped, delivered) VALUES (?, ?, ?, ?)",
                   (sink, last_id, dropped, delivered))
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('lost', 7)")
    db.execute("COMMIT")
    db.close()


def test_a_v3_journal_is_migrated_to_blocks_with_every_row_id_cursor_and_count(tmp_path: Path) -> None:
    # Given a v3 journal whose oldest segment was trimmed by the budget, spanning three segments
    path = tmp_path / "journal.sqlite"
    ids = range(SEGMENT_ROWS - 3000, 2 * SEGMENT_ROWS + 500)
    v3_file(path, ids, {"local": (SEGMENT_ROWS + 10, 0, 40), "remote": (SEGMENT_ROWS - 3001, 12, 0)})
    # When the gateway opens it
    journal = open_journal(path)
    # Then every row is there, in order, with its id, and the cursors and counts are kept
    stats = journal.stats()
    assert stats.last_id == ids[-1]
    assert stats.lost == 7
    assert stats.sinks["local"].cursor == SEGMENT_ROWS + 10
    assert stats.sinks["remote"].dropped == 12
    assert stats.sinks["remote"].backlog == len(ids)
    rows = journal.fetch_sync("remote", limit=len(ids) + 10, max_bytes=10**9)
    assert [r.id for r in rows] == list(ids)
    assert all(r.line == lineproto.encode(reading(r.id)) for r in rows)
    # and the ids go on from there
    journal.append(reading(ids[-1] + 1))
    journal.commit()
    (row,) = journal.fetch_sync("remote", after=ids[-1])
    assert row.id == ids[-1] + 1
    journal.close()
    db = sqlite3.connect(path)
    assert journal_schema.user_version(db) == 4
    assert db.execute("SELECT count(*) FROM sqlite_master WHERE name GLOB 'points*'").fetchone()[0] == 0
    sizes = [n for (n,) in db.execute("SELECT last_id - first_id + 1 FROM blocks_1")]
    assert max(sizes) <= BLOCK_ROWS
    assert sum(sizes) == SEGMENT_ROWS
    db.close()


def test_a_failed_v4_migration_leaves_the_v3_rows_where_they_were(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    v3_file(path, range(1, 101), {"local": (0, 0, 0)})
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA max_page_count = 1")  # nothing can be written: SQLITE_FULL mid-migration
    with contextlib.suppress(sqlite3.Error):
        journal_schema.migrate(db)
    assert journal_schema.user_version(db) == 3
    assert db.execute("SELECT count(*) FROM points_0").fetchone()[0] == 100
    db.close()


def test_blocks_round_trip_and_say_their_times() -> None:
    lines = [lineproto.encode(reading(i)) for i in range(300)]
    data = journal_blocks.encode(lines)
    assert journal_blocks.decode(data) == lines
    assert len(data) < sum(map(len, lines)) / 5  # compact: what the SD card is spared
    db = sqlite3.connect(":memory:")
    segments: list[int] = []
    journal_blocks.insert(db, segments, lines, 5)
    start, end = reading(10).time_ns, reading(20).time_ns
    assert list(journal_blocks.lines_between(db, start, end)) == lines[10:20]
    assert journal_blocks.first_time_after(db, segments, 6) == reading(2).time_ns


async def test_readings_wait_for_the_window_but_a_relay_switch_is_committed_at_once(tmp_path: Path) -> None:
    import asyncio

    from gateway.model import Reading

    journal = open_journal(tmp_path / "journal.sqlite", commit_interval_s=30.0)
    committed: list[int] = []
    journal.add_commit_listener(committed.append)
    task = asyncio.create_task(journal.run())
    await asyncio.sleep(0.05)
    # Given meter readings: they wait for the 30 s window
    journal.append(reading(1))
    await asyncio.sleep(0.3)
    assert committed == []
    # When a relay switches, it is durable at once, with what waited beside it
    journal.append(Reading.make("relay", {"site": "st-martin", "circuit": "c1"}, {"on": True}, time_ns=reading(2).time_ns))
    for _ in range(100):
        if committed:
            break
        await asyncio.sleep(0.02)
    assert committed == [2]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    journal.close()


def test_cursors_are_written_by_delivery_volume_not_by_time(tmp_path: Path) -> None:
    from gateway.journal import CURSOR_SAVE_ROWS

    path = tmp_path / "journal.sqlite"
    journal = open_journal(path, sinks=("local",))
    for i in range(CURSOR_SAVE_ROWS + 10):
        journal.append(reading(i))
    journal.commit(save_cursors=False)

    def stored() -> int:
        db = sqlite3.connect(path)
        try:
            return int(db.execute("SELECT last_id FROM cursors WHERE sink = 'local'").fetchone()[0])
        finally:
            db.close()

    journal.advance_sync("local", 100)
    journal.append(reading(10**6))
    journal.commit(save_cursors=False)  # a group commit of readings writes no cursor page...
    assert stored() == 0
    journal.advance_sync("local", CURSOR_SAVE_ROWS + 5)
    journal.append(reading(10**6 + 1))
    journal.commit(save_cursors=False)  # ...until a sink has delivered CURSOR_SAVE_ROWS since
    assert stored() == CURSOR_SAVE_ROWS + 5
    journal.close()
