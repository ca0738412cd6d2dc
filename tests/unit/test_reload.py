"""Reload on SIGHUP: a bad configuration is refused and the old one kept; a good one is
applied by re-executing the same process (same PID, new configuration)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.config import load_config
from gateway.daemon import Daemon, RunOptions
from gateway.reload import reload_config
from tests.support.notify_socket import notify_socket

GOOD = """
[site]
id = "test"
name = "{name}"
latitude = 47.0
longitude = 1.0
[service]
state_dir = "{state}"
"""
BAD = GOOD.replace("latitude = 47.0", "latitude = 147.0").replace("[service]", "[service]\nloglevel = 'x'")
#: A booking written with a UTC offset: once a TypeError in the loader that ended the daemon.
AWARE_BOOKING = GOOD + """
[[simulation.bookings]]
zone = "salle/grande_salle"
start = 2026-01-17T14:00:00Z
end = 2026-01-17T18:00:00
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


async def test_bad_config_is_refused_and_the_old_one_kept(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    file = write(tmp_path / "gateway.toml", GOOD.format(name="Before", state="state"))
    daemon = Daemon(load_config(file), RunOptions(config_path=file))
    old = daemon.config
    write(file, BAD.format(name="After", state="state"))
    with caplog.at_level(logging.INFO, logger="gateway.reload"):
        assert await reload_config(daemon) is False
    assert daemon.config is old
    assert not daemon.reexec_requested
    assert not daemon._stop.is_set()
    # the reason, one line per problem, naming file, line and key
    assert "reload refused, still running on the previous configuration" in caplog.text
    assert f"{file}:5: site.latitude:" in caplog.text
    assert "service.loglevel: unknown key (typo?)" in caplog.text


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("aware booking", AWARE_BOOKING, ":12: simulation.bookings[0].start: 2026-01-17T14:00:00+00:00 has a UTC offset"),
        ("deep nesting", GOOD + "x = " + "[" * 1000 + "]" * 1000 + "\n", ":9: service.x: values nested more than 32 levels"),
        ("long time zone", GOOD.replace("[service]", f'timezone = "{"a" * 300}"\n[service]'), ":7: site.timezone: unknown"),
    ],
)
async def test_whatever_is_wrong_with_the_file_the_daemon_runs_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str, text: str, expected: str
) -> None:
    # (each of these once escaped the loader as TypeError, RecursionError or OSError and ended the daemon)
    file = write(tmp_path / "gateway.toml", GOOD.format(name="Before", state="state"))
    daemon = Daemon(load_config(file), RunOptions(config_path=file))
    old = daemon.config
    write(file, text.format(name="After", state="state"))
    with caplog.at_level(logging.INFO, logger="gateway.reload"):
        assert await reload_config(daemon) is False, name
    assert daemon.config is old
    assert not daemon._stop.is_set()
    assert "reload refused, still running on the previous configuration" in caplog.text
    assert f"{file}{expected}" in caplog.text


async def test_an_unreadable_or_odd_file_is_refused(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    file = write(tmp_path / "gateway.toml", GOOD.format(name="Before", state="state"))
    daemon = Daemon(load_config(file), RunOptions(config_path=file))
    file.unlink()
    file.mkdir()  # a directory where the file was
    assert await reload_config(daemon) is False
    file.rmdir()
    os.mkfifo(file)  # a pipe: reading it would block the event loop for ever
    assert await reload_config(daemon) is False
    file.unlink()
    file.write_bytes(GOOD.format(name="Caf\xe9", state="state").encode("latin-1"))  # saved as Latin-1
    with caplog.at_level(logging.INFO, logger="gateway.reload"):
        assert await reload_config(daemon) is False
    assert f"{file}:4: site.name: not UTF-8 text: byte 0xe9" in caplog.text
    assert not daemon._stop.is_set()


async def test_a_loader_bug_is_refused_with_its_traceback_and_the_daemon_runs_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = write(tmp_path / "gateway.toml", GOOD.format(name="Before", state="state"))
    daemon = Daemon(load_config(file), RunOptions(config_path=file))
    events: list[str] = []

    def broken(path: object) -> None:
        raise RecursionError("a bug nobody foresaw")

    monkeypatch.setattr("gateway.reload.load_config", broken)
    monkeypatch.setattr("gateway.reload._event", lambda d, message: events.append(message))
    with caplog.at_level(logging.INFO, logger="gateway.reload"):
        assert await reload_config(daemon) is False
    assert not daemon._stop.is_set()
    assert "could not be validated (a bug: please report it)" in caplog.text
    assert "RecursionError: a bug nobody foresaw" in caplog.text  # the traceback is kept for the report
    assert events
    assert "could not be validated" in events[0]


async def test_unchanged_config_does_nothing(tmp_path: Path) -> None:
    file = write(tmp_path / "gateway.toml", GOOD.format(name="Same", state="state"))
    daemon = Daemon(load_config(file), RunOptions(config_path=file))
    assert await reload_config(daemon) is True
    assert not daemon.reexec_requested
    assert not daemon._stop.is_set()


async def test_changed_config_asks_for_an_orderly_stop_and_a_reexec(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    file = write(tmp_path / "gateway.toml", GOOD.format(name="Before", state="state"))
    daemon = Daemon(load_config(file), RunOptions(config_path=file))
    write(file, GOOD.format(name="After", state="state"))
    with caplog.at_level(logging.INFO, logger="gateway.reload"):
        assert await reload_config(daemon) is True
    assert daemon.reexec_requested is True
    assert daemon._stop.is_set()
    assert "configuration changed (site)" in caplog.text


def test_sighup_on_the_running_daemon(tmp_path: Path) -> None:
    file = write(tmp_path / "gateway.toml", GOOD.format(name="Before", state="state-a"))
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify"), "WATCHDOG_USEC": "200000"}
    with notify_socket(tmp_path / "notify") as sock:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "run", "--config", str(file)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            sock.wait_for("READY", "1")
            # Given an invalid edit, When SIGHUP, Then it keeps running (pinging) on the old one
            write(file, BAD.format(name="Broken", state="state-b"))
            proc.send_signal(signal.SIGHUP)
            sock.wait_until(lambda m: "reload refused" in m.fields.get("STATUS", ""))
            pings_before = len(sock.with_field("WATCHDOG"))
            sock.wait_for("WATCHDOG", count=pings_before + 3)
            assert proc.poll() is None
            # Given a booking with a UTC offset (once a crash of the loader), When SIGHUP, Then the same
            refusals = len([m for m in sock.with_field("STATUS") if "reload refused" in m.fields["STATUS"]])
            write(file, AWARE_BOOKING.format(name="Aware", state="state-b"))
            proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 20
            while len([m for m in sock.with_field("STATUS") if "reload refused" in m.fields["STATUS"]]) <= refusals:
                assert time.monotonic() < deadline, "the second reload was not refused"
                time.sleep(0.05)
            sock.wait_for("WATCHDOG", count=len(sock.with_field("WATCHDOG")) + 3)
            assert proc.poll() is None
            assert not (tmp_path / "state-b").exists()
            # Given a valid change, When SIGHUP, Then the same process re-executes on it
            write(file, GOOD.format(name="After", state="state-b"))
            proc.send_signal(signal.SIGHUP)
            sock.wait_for("RELOADING", "1")
            readies = sock.wait_for("READY", "1", count=2)
            sock.wait_for("WATCHDOG", count=len(sock.with_field("WATCHDOG")) + 2)
        finally:
            proc.send_signal(signal.SIGTERM)
            out = proc.communicate(timeout=20)[0].decode()
    assert proc.returncode == 0, out
    assert {m.pid for m in readies} == {proc.pid}  # same PID: systemd's MAINPID stays valid
    assert (tmp_path / "state-b" / "journal.sqlite").exists()  # the new state_dir is in use
    assert any("reload refused" in m.fields["STATUS"] for m in sock.with_field("STATUS"))
    assert "reload refused, still running on the previous configuration" in out
    assert "site.latitude" in out
    assert "simulation.bookings[0].start: 2026-01-17T14:00:00+00:00 has a UTC offset" in out
    assert "configuration changed (service, site); restarting in place" in out
    assert "re-executing" in out
