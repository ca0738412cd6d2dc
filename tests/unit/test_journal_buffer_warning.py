"""The journal's in-memory buffer against the readings the configuration declares (issue 11).

Readings wait in memory for their group commit; past ``journal.buffer_points`` the oldest are dropped
(counted). A configuration whose Modbus devices make more readings per commit window than the buffer
holds is valid, but ``check-config`` warns (at the field, with the numbers) and ``run`` says it at start.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.commands.run import _warn_at_start
from gateway.config import load_config, parse_config
from gateway.schema.config_warnings import config_warnings
from gateway.schema.journal import buffer_warnings, configured_readings_per_s
from tests.support.village import building, site


def _village(*, meters: int, interval_s: float, journal: str) -> str:
    text = site() + "\n" + building("mairie", "Mairie") + "\n" + journal + "\n"
    text += '[buses.compteurs]\nkind = "tcp"\nhost = "127.0.0.1"\nport = 1502\n'
    for unit in range(1, meters + 1):
        text += (
            f'[[buses.compteurs.devices]]\nid = "meter-{unit:02d}"\nunit = {unit}\nprofile = "sdm630"\n'
            f'building = "mairie"\ninterval_s = {interval_s}\n'
        )
    return text


#: 10 meters every 0.2 s = 50 readings a second; 30 s commits = 1,500 readings a window
BURSTY = _village(meters=10, interval_s=0.2, journal="[journal]\ncommit_interval_s = 30\nbuffer_points = 1000")


def test_a_buffer_smaller_than_one_commit_window_draws_a_warning_with_the_numbers() -> None:
    config = parse_config(BURSTY)  # valid: a warning, not an error
    assert configured_readings_per_s(config) == pytest.approx(50.0)
    ((path, reason),) = buffer_warnings(config)
    assert path == "journal.buffer_points"
    assert reason.startswith("1,000 readings cannot hold one commit window")
    assert "polled 50 times a second, 1,500 readings every commit_interval_s = 30 s" in reason
    assert "write buffer_points = 1,500 or more" in reason
    assert "or commit_interval_s = 20 or less" in reason
    assert ("journal.buffer_points", reason) in config_warnings(config)


@pytest.mark.parametrize(
    ("meters", "interval_s", "journal"),
    [
        (10, 1, ""),  # W1: 10 readings a second, 50 a 5 s window, 50,000 held
        (10, 0.2, "[journal]\ncommit_interval_s = 20\nbuffer_points = 1000"),  # exactly one window: 1,000
        (10, 0.2, "[journal]\ncommit_interval_s = 30\nbuffer_points = 1500"),
    ],
)
def test_a_buffer_that_holds_a_window_draws_no_warning(meters: int, interval_s: float, journal: str) -> None:
    assert buffer_warnings(parse_config(_village(meters=meters, interval_s=interval_s, journal=journal))) == []


def test_disabled_devices_make_no_readings() -> None:
    text = BURSTY.replace("interval_s = 0.2\n", "interval_s = 0.2\nenabled = false\n", 6)
    assert configured_readings_per_s(parse_config(text)) == pytest.approx(20.0)
    assert buffer_warnings(parse_config(text)) == []  # 600 a window


def test_check_config_prints_it_at_its_line_and_still_says_ok(tmp_path: Path) -> None:
    file = tmp_path / "village.toml"
    file.write_text(BURSTY, encoding="utf-8")
    line = BURSTY.splitlines().index("buffer_points = 1000") + 1
    cmd = [sys.executable, "-m", "gateway.cli", "check-config", str(file)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"warning: {file}:{line}: journal.buffer_points: 1,000 readings cannot hold")
    assert "OK" in result.stdout


def test_run_says_it_at_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    file = tmp_path / "village.toml"
    file.write_text(BURSTY, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="gateway.config"):
        _warn_at_start(load_config(file), file)
    (record,) = caplog.records
    assert record.getMessage().startswith(f"{file}:{BURSTY.splitlines().index('buffer_points = 1000') + 1}: ")
    assert "journal.buffer_points: 1,000 readings cannot hold one commit window" in record.getMessage()
