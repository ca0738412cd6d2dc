"""The read-only archive reader answers exactly what the archive answers, and never writes."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.archive import Archive
from gateway.clock import ManualClock
from gateway.model import Reading
from gateway.report.reader import ReadOnlyArchive

T0 = datetime(2026, 3, 28, 20, tzinfo=UTC)  # the night of the spring DST change in Paris


def fill(archive: Archive) -> None:
    readings = []
    energy = 10.0
    for minute in range(0, 36 * 60, 10):
        t = int((T0 + timedelta(minutes=minute)).timestamp()) * 10**9
        energy += 0.5 if minute != 600 else -energy + 2.0  # one counter reset
        readings.append(Reading.make("meter", {"site": "s", "device": "m1", "building": "b"},
                                     {"energy_import_kwh": energy, "power_w": 100.0 + minute % 7}, time_ns=t))
        readings.append(Reading.make("climate", {"site": "s", "device": "t1", "building": "b"},
                                     {"temperature_c": 5.0 + (minute % 50) / 10}, time_ns=t))
    archive.add(readings)
    archive.flush()


def test_same_answers_as_the_archive(tmp_path: Path):
    archive = Archive(tmp_path / "archive.sqlite", clock=ManualClock(T0))
    fill(archive)
    reader = ReadOnlyArchive(tmp_path / "archive.sqlite")
    start, end = int(T0.timestamp()) * 10**9, int((T0 + timedelta(days=2)).timestamp()) * 10**9
    for tags, field in (({"device": "t1"}, "temperature_c"), ({"building": "b"}, "power_w"), ({"device": "x"}, "y")):
        assert reader.series("climate" if field == "temperature_c" else "meter", tags, field, start, end) == \
            archive.series("climate" if field == "temperature_c" else "meter", tags, field, start, end)
    for period in ("hour", "day", "month"):
        assert reader.counter_sum("meter", {"device": "m1"}, "energy_import_kwh", start, end, period=period) == \
            archive.counter_sum("meter", {"device": "m1"}, "energy_import_kwh", start, end, period=period)
    assert reader.last_value("meter", {"device": "m1"}, "energy_import_kwh") == pytest.approx(
        2.0 + 0.5 * (36 * 6 - 61))
    assert reader.last_value("meter", {"device": "nothing"}, "energy_import_kwh") is None
    archive.close()


def test_it_cannot_write_and_says_when_there_is_no_file(tmp_path: Path):
    archive = Archive(tmp_path / "archive.sqlite", clock=ManualClock(T0))
    fill(archive)
    archive.close()
    path = tmp_path / "archive.sqlite"
    os.chmod(path, 0o444)
    before = path.read_bytes()
    reader = ReadOnlyArchive(path)
    assert reader.series("climate", {"device": "t1"}, "temperature_c", 0, 2**62)
    assert path.read_bytes() == before
    with pytest.raises(FileNotFoundError, match="has the gateway run yet"):
        ReadOnlyArchive(tmp_path / "none.sqlite").series("climate", {}, "temperature_c", 0, 1)
