"""The hourly archive on a full disk: a failed flush keeps everything, stops cleanly, says what it lost.

SQLite's own limit (``PRAGMA max_page_count``: the file may not grow) raises exactly the
SQLITE_FULL of a full SD card, including SQLite's automatic rollback of the transaction.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.archive import HOUR_NS, Archive
from gateway.clock import ManualClock
from gateway.metrics import Metrics
from gateway.model import Reading
from gateway.services.sinks import ArchiveService

H0 = int(datetime(2026, 3, 2, 0, 0, tzinfo=UTC).timestamp()) * 1_000_000_000
MIN = 60 * 1_000_000_000
END = H0 + 48 * HOUR_NS


def meter(device: int, t: int, power: float, energy: float) -> Reading:
    return Reading.make("meter", {"site": "st-martin", "device": f"m{device}"},
                        {"power_w": power, "energy_import_kwh": energy}, time_ns=t)


def batch(devices: range, hours: range, *, base: float = 0.0) -> list[Reading]:
    """Every device, two samples an hour; counters increase by 1 kWh an hour."""
    return [meter(d, H0 + h * HOUR_NS + m * MIN, 100.0 * d + h + m, base + 1000.0 * d + h + m / 60)
            for h in hours for m in (5, 35) for d in devices]


def limit_growth(archive: Archive, *, grow: bool) -> None:
    """Test seam: the archive's file may (not) grow any more, on the archive's own thread."""
    def run() -> None:
        db = archive._db
        assert db is not None
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {1_000_000_000 if grow else pages}")
    archive._call(run)


def snapshot(archive: Archive) -> tuple[object, ...]:
    series = archive.list_series()
    means = [archive.series(m, t, f, H0, END) for m, t, f in series]
    sums = [archive.counter_sum(m, t, f, H0, END, period="hour") for m, t, f in series if f.endswith("_kwh")]
    return series, means, sums


def orphans(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("SELECT count(*) FROM hourly WHERE series_id NOT IN (SELECT id FROM series)")
                   .fetchone()[0])
    finally:
        db.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 10, tzinfo=UTC))


@pytest.fixture
def reference(tmp_path: Path, clock: ManualClock) -> Iterator[Archive]:
    """The same readings, on a disk that never fills."""
    archive = Archive(tmp_path / "reference.sqlite", clock=clock)
    yield archive
    archive.close()


def test_a_failed_flush_keeps_every_aggregate_for_the_next_one(
    tmp_path: Path, clock: ManualClock, reference: Archive
) -> None:
    path = tmp_path / "archive.sqlite"
    archive = Archive(path, clock=clock)
    feeds = [batch(range(3), range(2)),  # flushed: series and counters' last values exist
             batch(range(70), range(2, 6)),  # 67 new series: the file must grow -> SQLITE_FULL
             batch(range(70), range(6, 8))]  # readings arriving while the disk is full
    archive.add(feeds[0])
    archive.flush()
    limit_growth(archive, grow=False)
    archive.add(feeds[1])
    with pytest.raises(sqlite3.OperationalError, match="full"):  # SQLite's error, not "cannot rollback"
        archive.flush()
    archive.add(feeds[2])
    with pytest.raises(sqlite3.OperationalError, match="full"):  # still full: still kept
        archive.flush()
    limit_growth(archive, grow=True)
    assert archive.flush() > 0
    for feed in feeds:
        reference.add(feed)
        reference.flush()
    assert orphans(path) == 0  # every hour row belongs to a series that exists
    assert snapshot(archive) == snapshot(reference)  # same means, minima, maxima and counter deltas
    archive.close()


def test_a_counter_increase_across_a_failed_flush_is_counted_once(tmp_path: Path, clock: ManualClock) -> None:
    archive = Archive(tmp_path / "archive.sqlite", clock=clock)
    archive.add([meter(1, H0 + MIN, 1.0, 100.0)])
    archive.flush()
    archive.add([meter(1, H0 + 2 * MIN, 1.0, 101.0), *batch(range(2, 60), range(1))])
    limit_growth(archive, grow=False)
    with pytest.raises(sqlite3.OperationalError):
        archive.flush()
    archive.add([meter(1, H0 + 3 * MIN, 1.0, 103.5)])
    limit_growth(archive, grow=True)
    archive.flush()
    assert archive.counter_sum("meter", {"device": "m1"}, "energy_import_kwh", H0, H0 + HOUR_NS,
                               period="hour") == [(H0, 3.5)]  # 100 -> 101 -> 103.5, neither lost nor doubled
    archive.close()


class _Core:
    def __init__(self) -> None:
        self.metrics = Metrics()

    def raise_event(self, event: object) -> None:
        raise AssertionError(f"unexpected event {event}")


async def test_the_service_says_works_again_only_once_the_kept_hours_are_written(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "archive.sqlite"
    archive = Archive(path, clock=clock)
    archive.add(batch(range(2), range(1)))
    archive.flush()
    limit_growth(archive, grow=False)
    service = ArchiveService(archive, _Core(), flush_interval_s=0.05)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, "gateway"):
        task = asyncio.create_task(service.run())
        archive.add(batch(range(80), range(1, 3)))
        for _ in range(100):
            await asyncio.sleep(0.02)
            if "archive flush failed" in caplog.text:
                break
        await asyncio.sleep(0.2)  # several failed attempts
        assert "works again" not in caplog.text
        limit_growth(archive, grow=True)
        for _ in range(100):
            await asyncio.sleep(0.02)
            if "works again" in caplog.text:
                break
        # when the line says so, the hours kept since the failure are in the file
        assert len(archive.list_series()) == 160
        assert archive.series("meter", {"device": "m79"}, "power_w", H0, END)[0][0] == H0 + HOUR_NS
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert caplog.text.count("archive flush failed") == 1
    assert caplog.text.count("works again") == 1


async def test_stopping_while_the_disk_is_full_is_clean_and_reports_the_loss(
    tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()
    archive = Archive(tmp_path / "archive.sqlite", clock=clock, metrics=metrics)
    archive.add(batch(range(2), range(1)))
    archive.flush()
    limit_growth(archive, grow=False)
    service = ArchiveService(archive, _Core(), flush_interval_s=3600)  # type: ignore[arg-type]
    task = asyncio.create_task(service.run())
    await asyncio.sleep(0.05)
    archive.add(batch(range(80), range(1, 3)))  # 80 devices x 2 fields x 2 hours, 4 readings each hour
    with caplog.at_level(logging.ERROR, "gateway"):
        task.cancel()
        with pytest.raises(asyncio.CancelledError):  # the stop goes on: no sqlite3 error, no traceback
            await task
    lost = [r for r in caplog.records if "lost" in r.getMessage()]
    assert len(lost) == 1
    assert lost[0].exc_info is None
    assert "320 hour rows" in lost[0].getMessage()
    assert "640 readings" in lost[0].getMessage()
    assert metrics.get("gateway_archive_lost_rows_total") == 320
    assert metrics.get("gateway_archive_flush_errors_total") >= 1


def test_an_archive_that_cannot_be_opened_is_not_taken_for_a_corrupt_one(tmp_path: Path, clock: ManualClock) -> None:
    """Only damage moves five years of figures aside; an I/O or access error is raised as it is."""
    path = tmp_path / "archive.sqlite"
    path.mkdir()  # stands in for any error that is not damage: cannot open, locked, disk full
    (path / "keep").write_text("x")
    with pytest.raises(sqlite3.OperationalError):
        Archive(path, clock=clock)
    assert (path / "keep").exists()
    assert not any(".corrupt-" in p.name for p in tmp_path.iterdir())
