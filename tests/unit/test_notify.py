"""sd_notify without systemd: a test binds NOTIFY_SOCKET and listens to the daemon.

The real daemon (``village-gateway run``) is started as a subprocess for READY / WATCHDOG /
STOPPING; the "stuck loop stops pinging" and "unhealthy stops pinging" stories run the
watchdog service in-process so the test can block that very event loop.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.services.system import SystemdService
from gateway.systemd_notify import Notifier
from tests.support.notify_socket import NotifySocket, notify_socket

MIN_CONFIG = """
[site]
id = "test"
name = "Test"
latitude = 47.0
longitude = 1.0
[service]
state_dir = "state"
"""


def start_daemon(tmp_path: Path, sock: Path, watchdog_usec: int = 200_000) -> subprocess.Popen[bytes]:
    config = tmp_path / "gateway.toml"
    config.write_text(MIN_CONFIG)
    env = {**os.environ, "NOTIFY_SOCKET": str(sock), "WATCHDOG_USEC": str(watchdog_usec)}
    env.pop("WATCHDOG_PID", None)
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "run", "--config", str(config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_daemon_sends_ready_then_watchdog_pings_then_stopping(tmp_path: Path) -> None:
    with notify_socket(tmp_path / "notify") as sock:
        proc = start_daemon(tmp_path, sock.path)
        try:
            ready = sock.wait_for("READY", "1")
            pings = sock.wait_for("WATCHDOG", "1", count=5)
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=20)
        stopping = sock.wait_for("STOPPING", "1")
    assert proc.returncode == 0, out.decode()
    # READY comes first, from the daemon's own PID (NotifyAccess=main), with a STATUS line
    assert ready[0].pid == proc.pid
    assert sock.messages[0].fields.get("READY") == "1"
    assert "running" in ready[0].fields["STATUS"]
    assert "CLOCK" in ready[0].fields["STATUS"] or "clock trusted" in ready[0].fields["STATUS"]
    # paced at WatchdogSec/2 = 0.1 s, not spammed (only the lower bound: a loaded machine is slower)
    gaps = [b.at - a.at for a, b in itertools.pairwise(pings)]
    assert min(gaps) > 0.05, gaps
    assert stopping[0].at > pings[-1].at


def test_without_notify_socket_nothing_is_sent_and_nothing_fails() -> None:
    notifier = Notifier.from_environment({})
    assert not notifier.enabled
    assert notifier.notify(ready=True) is False
    assert notifier.watchdog_interval_s() is None


def test_watchdog_usec_for_another_pid_is_ignored() -> None:
    env = {"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid() + 1)}
    assert Notifier.from_environment(env).watchdog_interval_s() is None
    env["WATCHDOG_PID"] = str(os.getpid())
    assert Notifier.from_environment(env).watchdog_interval_s() == 15.0


def test_abstract_socket_address(tmp_path: Path) -> None:
    import socket

    name = f"vg-test-{os.getpid()}"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind("\0" + name)
    receiver.settimeout(2)
    try:
        assert Notifier(f"@{name}").notify(status="multi\nline   status")
        assert receiver.recv(100) == b"STATUS=multi line status"
    finally:
        receiver.close()


def test_unreachable_socket_is_logged_once_and_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifier(str(tmp_path / "nobody"))
    assert notifier.notify(watchdog=True) is False
    assert notifier.notify(watchdog=True) is False
    assert caplog.text.count("cannot notify systemd") == 1


def _pings_between(sock: NotifySocket, start: float, end: float) -> list[float]:
    return [m.at for m in sock.with_field("WATCHDOG", "1") if start < m.at < end]


async def test_a_blocked_event_loop_stops_the_pings(tmp_path: Path) -> None:
    with notify_socket(tmp_path / "notify") as sock:
        service = SystemdService(notifier=Notifier(str(sock.path), watchdog_usec=100_000), guard=None, checks={})
        task = asyncio.create_task(service.run())
        await asyncio.sleep(0.5)
        assert len(sock.with_field("WATCHDOG")) >= 3  # healthy: pinging every 50 ms
        # When the loop is stuck (a blocking call in a coroutine)
        blocked_at = time.monotonic()
        time.sleep(1.0)  # noqa: ASYNC251 - the point: block the event loop
        unblocked_at = time.monotonic()
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    # Then no ping was sent while it was blocked (systemd would kill it after WatchdogSec)
    assert _pings_between(sock, blocked_at + 0.02, unblocked_at) == []
    # and pings resumed once it ran again
    assert len(_pings_between(sock, unblocked_at, unblocked_at + 0.6)) >= 3
    assert sock.with_field("STOPPING", "1")


async def test_a_failing_health_check_stops_the_pings_and_says_why(tmp_path: Path) -> None:
    with notify_socket(tmp_path / "notify") as sock:
        state = {"stuck": False}
        checks = {"journal": lambda: "no group commit for 90 s" if state["stuck"] else None}
        service = SystemdService(notifier=Notifier(str(sock.path), watchdog_usec=100_000), guard=None, checks=checks)
        task = asyncio.create_task(service.run())
        await asyncio.sleep(0.3)
        state["stuck"] = True
        await asyncio.sleep(0.1)
        stuck_at = time.monotonic()
        await asyncio.sleep(0.5)
        healthy_at = time.monotonic()
        state["stuck"] = False
        await asyncio.sleep(0.4)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert _pings_between(sock, stuck_at, healthy_at) == []
    assert len(_pings_between(sock, healthy_at, healthy_at + 0.4)) >= 2
    statuses = [m.fields["STATUS"] for m in sock.with_field("STATUS")]
    assert any("UNHEALTHY: journal: no group commit for 90 s" in s for s in statuses)
