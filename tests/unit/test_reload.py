"""Reload on SIGHUP: a bad configuration is refused and the old one kept; a good one is
applied by re-executing the same process (same PID, new configuration)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import load_config
from gateway.daemon import Daemon, RunOptions
from gateway.reload import REEXEC_KEY, reload_config
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
    assert REEXEC_KEY not in daemon.options.extras
    assert not daemon._stop.is_set()
    # the reason, one line per problem, naming file, line and key
    assert "reload refused, still running on the previous configuration" in caplog.text
    assert f"{file}:5: site.latitude:" in caplog.text
    assert "service.loglevel: unknown key (typo?)" in caplog.text


async def test_unchanged_config_does_nothing(tmp_path: Path) -> None:
    file = write(tmp_path / "gateway.toml", GOOD.format(name="Same", state="state"))
    daemon = Daemon(load_config(file), RunOptions(config_path=file))
    assert await reload_config(daemon) is True
    assert REEXEC_KEY not in daemon.options.extras
    assert not daemon._stop.is_set()


async def test_changed_config_asks_for_an_orderly_stop_and_a_reexec(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    file = write(tmp_path / "gateway.toml", GOOD.format(name="Before", state="state"))
    daemon = Daemon(load_config(file), RunOptions(config_path=file))
    write(file, GOOD.format(name="After", state="state"))
    with caplog.at_level(logging.INFO, logger="gateway.reload"):
        assert await reload_config(daemon) is True
    assert daemon.options.extras[REEXEC_KEY] is True
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
    assert "configuration changed (service, site); restarting in place" in out
    assert "re-executing" in out
