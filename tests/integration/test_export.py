"""``village-gateway export``: a village hands its data over as CSV or line protocol, no server needed."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway import lineproto
from gateway.archive import Archive
from gateway.cli import main
from gateway.clock import SystemClock
from gateway.journal import Journal
from gateway.metrics import Metrics
from gateway.model import Reading
from tests.support.village import site

pytestmark = pytest.mark.integration

PARIS = ZoneInfo("Europe/Paris")
#: 2026-01-15 00:00 in Paris (23:00 UTC the day before)
DAY = int(datetime(2026, 1, 15, tzinfo=PARIS).timestamp()) * 1_000_000_000
MIN = 60 * 10**9


def reading(t: int, power: float, energy: float, device: str = "mairie-general") -> Reading:
    return Reading.make("meter", {"site": "st-martin", "building": "mairie", "device": device},
                        {"power_w": power, "energy_import_kwh": energy}, time_ns=t)


@pytest.fixture
def village(tmp_path: Path) -> Path:
    """A configuration whose state directory holds a journal and an archive with two days of data."""
    state = tmp_path / "state"
    cfg = tmp_path / "village.toml"
    cfg.write_text(site("st-martin") + f'[service]\nstate_dir = "{state}"\n')
    points = [reading(DAY + i * 30 * MIN, 100.0 + i, 1000.0 + i * 0.5) for i in range(96)]  # 48 h every 30 min
    journal = Journal(state / "journal.sqlite", sinks=("remote",), metrics=Metrics(), clock=SystemClock())
    for p in points:
        journal.append(p)
    journal.commit()
    journal.close()
    archive = Archive(state / "archive.sqlite", clock=SystemClock())
    archive.add(points)
    archive.close()
    return cfg


def export(cfg: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["export", "--config", str(cfg), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_archive_as_csv_one_day_in_local_time(village: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = export(village, "--from", "2026-01-15", "--to", "2026-01-15", "--format", "csv",
                            capsys=capsys)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 24 * 2  # 24 local hours x (power_w, energy_import_kwh)
    first = rows[0]
    assert first["hour_start_utc"] == "2026-01-14T23:00:00Z"
    assert (first["site"], first["building"], first["device"], first["zone"]) == (
        "st-martin", "mairie", "mairie-general", "")
    power = [r for r in rows if r["field"] == "power_w"]
    assert (power[0]["count"], float(power[0]["mean"]), float(power[0]["min"]), float(power[0]["max"])) == (
        "2", 100.5, 100.0, 101.0)
    assert power[0]["delta"] == ""
    energy = [r for r in rows if r["field"] == "energy_import_kwh"]
    assert sum(float(r["delta"]) for r in energy) == pytest.approx(47 * 0.5)  # 48 samples, 47 increases
    assert "48 hourly rows" in err


def test_archive_as_line_protocol(village: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out.lp"
    code, out, err = export(village, "--from", "2026-01-15T00:00", "--to", "2026-01-15T02:00", "--format", "lp",
                            "--output", str(target), capsys=capsys)
    assert code == 0, err
    assert out == ""
    lines = target.read_text().splitlines()
    assert len(lines) == 4
    measurement, tags, fields, time_ns = lineproto.parse(lines[1])
    assert measurement == "meter_hourly"
    assert tags == {"site": "st-martin", "building": "mairie", "device": "mairie-general"}
    assert fields == {"power_w_mean": 100.5, "power_w_min": 100.0, "power_w_max": 101.0, "power_w_count": 2}
    assert time_ns == DAY


def test_raw_journal_as_line_protocol_is_the_journal_itself(village: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = export(village, "--from", "2026-01-16", "--to", "2026-01-16", "--format", "lp",
                            "--source", "journal", capsys=capsys)
    assert code == 0, err
    expected = [lineproto.encode_text(reading(DAY + i * 30 * MIN, 100.0 + i, 1000.0 + i * 0.5))
                for i in range(48, 96)]
    assert out.splitlines() == expected


def test_raw_journal_as_csv(village: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = export(village, "--from", "2026-01-15", "--to", "2026-01-16", "--source", "journal",
                          capsys=capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 96 * 2
    assert rows[0] == {"time_utc": "2026-01-14T23:00:00Z", "time_ns": str(DAY), "measurement": "meter",
                       "site": "st-martin", "building": "mairie", "zone": "", "device": "mairie-general",
                       "other_tags": "", "field": "energy_import_kwh", "value": "1000.0"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "15/01/2026", "--to", "2026-01-16"], "bad date"),
        (["--from", "2026-01-16", "--to", "2026-01-15"], "--to must be after --from"),
    ],
)
def test_bad_dates_are_refused(village: Path, args: list[str], message: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = export(village, *args, capsys=capsys)
    assert code == 2
    assert message in err


def test_no_archive_yet_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "v.toml"
    cfg.write_text(f'[site]\nid = "x"\nname = "X"\nlatitude = 45.0\nlongitude = 5.0\n'
                   f'[service]\nstate_dir = "{tmp_path / "empty"}"\n')
    code, _, err = export(cfg, "--from", "2026-01-15", "--to", "2026-01-15", capsys=capsys)
    assert code == 1
    assert "does not exist" in err


def test_the_console_script_exports_while_nothing_else_runs(village: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "export", "--config", str(village), "--from", "2026-01-15",
         "--to", "2026-01-16", "--format", "csv"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("hour_start_utc,measurement,site,building,zone,device")
    assert len(lines) == 1 + 48 * 2
