"""Hourly archive: aggregates per series and hour, counter deltas across resets and restarts, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.archive import HOUR_NS, Archive, increase, read_hours
from gateway.clock import ManualClock
from gateway.model import Reading

PARIS = ZoneInfo("Europe/Paris")
H0 = int(datetime(2026, 3, 2, 0, 0, tzinfo=UTC).timestamp()) * 1_000_000_000  # an hour boundary
MIN = 60 * 1_000_000_000


def meter(device: str, t: int, **fields: float) -> Reading:
    return Reading.make("meter", {"site": "st-martin", "building": "mairie", "device": device}, fields, time_ns=t)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 10, tzinfo=UTC))


@pytest.fixture
def archive(tmp_path: Path, clock: ManualClock) -> Archive:
    a = Archive(tmp_path / "archive.sqlite", clock=clock)
    yield a
    a.close()


def test_mean_min_max_per_hour(archive: Archive) -> None:
    archive.add([meter("m1", H0 + i * 10 * MIN, power_w=v) for i, v in enumerate([100.0, 300.0, 200.0])])
    archive.add([meter("m1", H0 + HOUR_NS + 5 * MIN, power_w=50.0)])
    archive.flush()
    assert archive.series("meter", {"device": "m1"}, "power_w", H0, H0 + 2 * HOUR_NS) == [
        (H0, 200.0, 100.0, 300.0),
        (H0 + HOUR_NS, 50.0, 50.0, 50.0),
    ]
    assert archive.series("meter", {"device": "m1"}, "power_w", H0 + HOUR_NS, H0 + 2 * HOUR_NS) == [
        (H0 + HOUR_NS, 50.0, 50.0, 50.0)
    ]
    assert archive.series("meter", {"device": "other"}, "power_w", H0, H0 + 2 * HOUR_NS) == []


def test_several_series_combine_weighted_by_count(archive: Archive) -> None:
    archive.add([meter("m1", H0 + MIN, power_w=10.0), meter("m1", H0 + 2 * MIN, power_w=20.0),
                 meter("m2", H0 + MIN, power_w=40.0)])
    archive.flush()
    ((hour, mean, low, high),) = archive.series("meter", {"building": "mairie"}, "power_w", H0, H0 + HOUR_NS)
    assert (hour, low, high) == (H0, 10.0, 40.0)
    assert mean == pytest.approx(70.0 / 3)


def test_restart_in_the_middle_of_an_hour_adds_to_it(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "archive.sqlite"
    first = Archive(path, clock=clock)
    first.add([meter("m1", H0 + MIN, power_w=10.0), meter("m1", H0 + 2 * MIN, energy_import_kwh=100.0)])
    first.close()
    second = Archive(path, clock=clock)
    second.add([meter("m1", H0 + 30 * MIN, power_w=30.0), meter("m1", H0 + 40 * MIN, energy_import_kwh=101.5)])
    second.flush()
    assert second.series("meter", None, "power_w", H0, H0 + HOUR_NS) == [(H0, 20.0, 10.0, 30.0)]
    # the increase across the restart is not lost: 100 -> 101.5
    assert second.counter_sum("meter", None, "energy_import_kwh", H0, H0 + HOUR_NS, period="hour") == [(H0, 1.5)]
    second.close()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([10.0, 12.0, 15.0], 5.0),  # a steady counter
        ([10.0, 12.0, 0.5, 2.0], 2.0 + 0.5 + 1.5),  # reset to zero (meter replaced/rebooted): no negative delta
        ([10.0, 10.0, 10.0], 0.0),
    ],
)
def test_counter_delta_within_an_hour(archive: Archive, values: list[float], expected: float) -> None:
    archive.add([meter("m1", H0 + i * MIN, energy_import_kwh=v) for i, v in enumerate(values)])
    archive.flush()
    assert archive.counter_sum("meter", {"device": "m1"}, "energy_import_kwh", H0, H0 + HOUR_NS, period="hour") == [
        (H0, pytest.approx(expected))
    ]


def test_counter_increase_between_hours_goes_to_the_later_hour(archive: Archive) -> None:
    archive.add([meter("m1", H0 + 50 * MIN, water_m3=7.0)])
    archive.flush()  # a flush between the samples must not lose the increase either
    archive.add([meter("m1", H0 + 70 * MIN, water_m3=7.25), meter("m1", H0 + 80 * MIN, water_m3=7.5)])
    archive.flush()
    assert archive.counter_sum("meter", None, "water_m3", H0, H0 + 2 * HOUR_NS, period="hour") == [
        (H0, 0.0), (H0 + HOUR_NS, 0.5)
    ]


def test_daily_and_monthly_totals_in_local_time(archive: Archive) -> None:
    # 2026-03-29 is the spring DST change in Paris; one kWh every hour for 3 days around it
    start = int(datetime(2026, 3, 28, tzinfo=PARIS).timestamp()) * 1_000_000_000
    value = 1000.0
    batch = []
    for hour in range(3 * 24):
        value += 1.0
        batch.append(meter("m1", start + hour * HOUR_NS + MIN, energy_import_kwh=value))
    archive.add(batch)
    archive.flush()
    end = start + 3 * 24 * HOUR_NS
    days = archive.counter_sum("meter", {"device": "m1"}, "energy_import_kwh", start, end, period="day")
    local_days = [(datetime.fromtimestamp(t / 1e9, PARIS).date().isoformat(), total) for t, total in days]
    # the very first sample has no predecessor; the 29th has 23 hours; the 31st gets the rest
    assert local_days == [("2026-03-28", 23.0), ("2026-03-29", 23.0), ("2026-03-30", 24.0), ("2026-03-31", 1.0)]
    months = archive.counter_sum("meter", None, "energy_import_kwh", start, end, period="month")
    assert months == [(int(datetime(2026, 3, 1, tzinfo=PARIS).timestamp()) * 1_000_000_000, 71.0)]


def test_strings_and_events_are_not_archived_booleans_are(archive: Archive) -> None:
    archive.add([
        Reading.make("event", {"site": "s", "kind": "leak"}, {"message": "x", "litres": 3}, time_ns=H0),
        Reading.make("relay", {"site": "s", "device": "r1"}, {"on": True, "mode": "eco"}, time_ns=H0),
        Reading.make("relay", {"site": "s", "device": "r1"}, {"on": False}, time_ns=H0 + MIN),
    ])
    archive.flush()
    assert archive.list_series() == [("relay", {"device": "r1", "site": "s"}, "on")]
    assert archive.series("relay", None, "on", H0, H0 + HOUR_NS) == [(H0, 0.5, 0.0, 1.0)]  # duty cycle


def test_hours_older_than_the_retention_are_pruned(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 3, 10, tzinfo=UTC))
    archive = Archive(tmp_path / "archive.sqlite", clock=clock, retention_years=5)
    old = int((clock.now() - timedelta(days=5 * 366)).timestamp()) * 1_000_000_000
    recent = int((clock.now() - timedelta(days=4 * 365)).timestamp()) * 1_000_000_000
    archive.add([meter("m1", old, power_w=1.0), meter("m1", recent, power_w=2.0)])
    archive.flush()
    assert archive.prune() == 1
    assert [mean for _, mean, _, _ in archive.series("meter", None, "power_w", 0, clock.time_ns())] == [2.0]
    archive.close()


def test_export_reader_streams_every_hour(archive: Archive, tmp_path: Path) -> None:
    archive.add([meter("m1", H0 + MIN, power_w=1.0, energy_import_kwh=5.0),
                 meter("m1", H0 + HOUR_NS + MIN, power_w=3.0, energy_import_kwh=6.0)])
    archive.flush()
    rows = list(read_hours(tmp_path / "archive.sqlite", H0, H0 + 2 * HOUR_NS))
    assert [(r.field, r.hour_ns, r.mean, r.delta) for r in rows] == [
        ("energy_import_kwh", H0, 5.0, 0.0), ("power_w", H0, 1.0, None),
        ("energy_import_kwh", H0 + HOUR_NS, 6.0, 1.0), ("power_w", H0 + HOUR_NS, 3.0, None),
    ]
    assert rows[0].tags == {"building": "mairie", "device": "m1", "site": "st-martin"}


def test_a_corrupt_archive_is_moved_aside(tmp_path: Path, clock: ManualClock) -> None:
    path = tmp_path / "archive.sqlite"
    path.write_bytes(b"garbage" * 1000)
    archive = Archive(path, clock=clock)
    assert [e.kind for e in archive.take_events()] == ["archive_recovered"]
    assert any(".corrupt-" in p.name for p in tmp_path.iterdir())
    archive.add([meter("m1", H0, power_w=1.0)])
    assert archive.flush() == 1
    archive.close()


def test_increase_treats_a_decrease_as_a_reset() -> None:
    assert increase(10.0, 12.5) == 2.5
    assert increase(10.0, 3.0) == 3.0


async def test_the_archive_service_prunes_at_start_and_flushes_on_stop(tmp_path: Path) -> None:
    import asyncio

    from gateway.services.sinks import ArchiveService

    clock = ManualClock(datetime(2032, 3, 10, tzinfo=UTC))
    archive = Archive(tmp_path / "archive.sqlite", clock=clock, retention_years=5)
    archive.add([meter("m1", H0, power_w=1.0)])  # 2026: six years before the clock
    archive.flush()

    class Core:
        def raise_event(self, event: object) -> None:
            raise AssertionError(f"unexpected event {event}")

    service = ArchiveService(archive, Core(), flush_interval_s=3600)  # type: ignore[arg-type]
    service.prepare()
    task = asyncio.create_task(service.run())
    await asyncio.sleep(0.2)
    archive.add([meter("m1", clock.time_ns(), power_w=5.0)])  # fed by the journal meanwhile
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    rows = list(read_hours(tmp_path / "archive.sqlite", 0, clock.time_ns() + HOUR_NS))
    assert [(r.mean, r.hour_ns >= H0 + HOUR_NS) for r in rows] == [(5.0, True)]  # old hour pruned, new flushed
