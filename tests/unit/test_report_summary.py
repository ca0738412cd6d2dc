"""What goes up to the intercommunality: daily summaries per building (with the drift from the building's
own signature: a heating fault shows), a health point every minute; both published through the core."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.archive import Archive
from gateway.clock import ManualClock
from gateway.demo_history import seed_history
from gateway.model import Reading, Unavailable
from gateway.report.daily import DailyFigures
from gateway.report.reader import ReadOnlyArchive
from gateway.report.summary import daily_readings
from gateway.services.reporting import BACKFILL_DAYS, BATCH_DAYS, DailySummaryService, HealthService
from tests.support.history import village_config
from tests.support.village import recorded_core

PARIS = ZoneInfo("Europe/Paris")


def test_each_building_gets_a_daily_point_at_its_local_midnight(village_year):
    config, path, end = village_year
    figures = DailyFigures(config=config, archive=ReadOnlyArchive(path), now=lambda: end)
    points = daily_readings(figures, date(2026, 11, 20), date(2026, 11, 26))
    assert len(points) == 4 * 7
    assert {p.tag("building") for p in points} == {"mairie", "ecole", "salle", "eglise"}
    first = next(p for p in points if p.tag("building") == "ecole")
    assert first.measurement == "energy_daily"
    assert first.tag("site") == "saint-martin"
    assert datetime.fromtimestamp(first.time_ns / 1e9, PARIS) == datetime(2026, 11, 20, tzinfo=PARIS)
    fields = first.field_map()
    assert set(fields) == {"energy_kwh", "water_m3", "heater_h", "dju", "kwh_per_dju", "expected_kwh", "drift_pct",
                           "normalised_kwh"}
    assert all(isinstance(v, float) for v in fields.values())
    assert fields["kwh_per_dju"] == pytest.approx(fields["energy_kwh"] / fields["dju"], rel=1e-3)
    drifts = [p.field_map()["drift_pct"] for p in points if p.tag("building") != "eglise"]
    assert max(abs(d) for d in drifts) < 40  # ordinary weeks of buildings used every day follow their signature
    # (the church, heated for Sunday's service only once it gets cold, does not: docs/upload.md says so)
    assert "water_m3" not in next(p for p in points if p.tag("building") == "mairie").field_map()


def test_a_heater_stuck_on_shows_as_drift_from_the_signature(tmp_path: Path):
    config = village_config(tmp_path)
    path = tmp_path / "archive.sqlite"
    end = datetime(2026, 1, 20, 0, tzinfo=PARIS).astimezone(UTC)
    seed_history(config, path, days=120, end=end)
    last = ReadOnlyArchive(path).last_value("meter", {"device": "salle-general"}, "energy_import_kwh")
    archive = Archive(path, clock=ManualClock(end))
    fault = []
    for hour in range(24):  # 20 January: the hall's 28 kW fan heaters on all day and night
        t = end + timedelta(hours=hour)
        fault.append(Reading.make("meter", {"site": "saint-martin", "device": "salle-general", "building": "salle"},
                                  {"energy_import_kwh": last + 28.0 * (hour + 1)}, time_ns=int(t.timestamp()) * 10**9))
    archive.add(fault)
    archive.close()
    now = end + timedelta(days=2)
    # the outdoor thermometer's history stops with the seeding: the station's value covers the 20th
    figures = DailyFigures(config=config, archive=ReadOnlyArchive(path), now=lambda: now,
                           station={date(2026, 1, 20): 12.0})
    (point,) = [p for p in daily_readings(figures, date(2026, 1, 20), date(2026, 1, 20)) if p.tag("building") == "salle"]
    fields = point.field_map()
    assert fields["energy_kwh"] == pytest.approx(28.0 * 24, rel=0.01)
    assert fields["expected_kwh"] < fields["energy_kwh"] / 3
    assert fields["drift_pct"] > 50  # the week it happened in stands out


def test_the_daily_summary_backfills_in_steps_then_one_day_at_a_time(village_year, tmp_path: Path):
    config, path, end = village_year
    config = config.model_copy(update={"service": config.service.model_copy(update={"state_dir": tmp_path})})
    core, journal, clock = recorded_core(config, now=end)
    service = DailySummaryService(core=core, archive=ReadOnlyArchive(path), state_file=tmp_path / "report-summary.json")
    first, last = service.due(clock.now())
    assert first == date(2026, 11, 26) - timedelta(days=BACKFILL_DAYS - 1)  # 27 Nov 12:00: the 26th has settled
    assert last == first + timedelta(days=BATCH_DAYS - 1)

    steps: list[date] = []
    original = service._remember

    async def run_until_caught_up() -> None:
        done = asyncio.Event()

        def remember(day: date) -> None:
            original(day)
            steps.append(day)
            if day == date(2026, 11, 26):
                done.set()

        service._remember = remember  # type: ignore[method-assign]
        task = asyncio.create_task(service.run())
        await done.wait()
        task.cancel()

    asyncio.run(asyncio.wait_for(run_until_caught_up(), 120))
    assert len(steps) == -(-BACKFILL_DAYS // BATCH_DAYS)  # seven passes of at most sixty days
    days = {r.time_ns for r in journal.of("energy_daily")}
    assert len(days) >= BACKFILL_DAYS - 40  # the archive begins on 23 October 2025: earlier days have nothing
    assert json.loads((tmp_path / "report-summary.json").read_text()) == {"last_day": "2026-11-26"}
    assert service.due(clock.now()) is None
    clock.advance(86400)
    assert service.due(clock.now()) == (date(2026, 11, 27), date(2026, 11, 27))
    # a restart reads where it stopped
    again = DailySummaryService(core=core, archive=ReadOnlyArchive(path), state_file=tmp_path / "report-summary.json")
    assert again.due(clock.now()) == (date(2026, 11, 27), date(2026, 11, 27))


def test_the_health_point(tmp_path: Path):
    config = village_config(tmp_path)
    core, journal, clock = recorded_core(config, now=datetime(2026, 11, 27, 11, tzinfo=UTC))
    service = HealthService(core=core, interval_s=60)
    empty = service.point().field_map()
    assert "newest_reading_age_s" not in empty  # nothing measured yet
    assert empty["sink_backlog"] == 0
    core.publish(Reading.make("meter", {"site": "saint-martin", "device": "mairie-general"}, {"power_w": 1.0},
                              time_ns=clock.time_ns()))
    core.unavailable(Unavailable("ecole-eau", clock.time_ns(), "timeout"))
    clock.advance(90)
    core.publish(service.point())
    clock.advance(60)
    point = service.point()
    fields = point.field_map()
    assert point.measurement == "gateway_health"
    assert point.tags == (("site", "saint-martin"),)
    assert fields["newest_reading_age_s"] == 150.0  # the meter's reading, not the health point's
    assert fields["devices_unavailable"] == 1
    assert fields["version"] == "0.1.0"
    assert isinstance(fields["uptime_s"], float)
    assert isinstance(fields["sink_backlog"], int)
    assert "alarms" not in fields  # no control façade here
    assert journal.of("gateway_health")
