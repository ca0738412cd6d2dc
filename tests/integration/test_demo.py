"""`village-gateway demo` as a newcomer runs it: simulated village up, admin page answering, Ctrl-C stops it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support.procs import free_port


def _wait_for_line(proc: subprocess.Popen[str], pattern: str, lines: list[str], timeout: float) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"demo exited ({proc.poll()}) before printing {pattern!r}:\n{''.join(lines)}")
        lines.append(line)
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"no line matching {pattern!r} after {timeout}s:\n{''.join(lines)}")


async def _retained(port: int, pattern: str) -> dict[str, str]:
    """The retained messages under ``pattern`` on the demo's broker."""
    import aiomqtt

    found: dict[str, str] = {}
    async with aiomqtt.Client("127.0.0.1", port) as client:
        await client.subscribe(pattern)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                async for message in client.messages:
                    found[str(message.topic)] = bytes(message.payload).decode()  # type: ignore[arg-type]
    return found


def test_demo_runs_the_simulated_village_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "demo",
            "--http",
            f"127.0.0.1:{port}",
            "--state-dir",
            str(tmp_path / "state"),
            "--status-every",
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    lines: list[str] = []
    try:
        broker = _wait_for_line(proc, r"MQTT broker for sink 'mqtt' on 127\.0\.0\.1:(\d+)", lines, 30)
        login = _wait_for_line(proc, r"login 'demo', password '([^']+)'", lines, 30)
        assert len(login.group(1)) >= 12
        _wait_for_line(proc, r"bus compteurs .*5 meters", lines, 30)
        status = _wait_for_line(proc, r"status: (\d+) points/min, (\d+) devices reporting", lines, 30)
        assert int(status.group(1)) > 0
        assert int(status.group(2)) >= 5
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            health = json.load(response)
        assert response.status == 200
        assert health["journal_ok"] is True
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            assert "/login" in response.url  # every page but /health asks for a login
        deadline = time.monotonic() + 45  # readings reach MQTT after their group commit (every 30 s in the example)
        while True:
            retained = asyncio.run(_retained(int(broker.group(1)), "village/saint-martin/#"))
            wanted = ("/temperature_c", "/power_w")  # the climate sensors' and the meters' readings
            if all(any(t.endswith(w) for t in retained) for w in wanted) or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert retained["village/saint-martin/status"] == "online"
        assert any(topic.endswith("/temperature_c") for topic in retained)
        assert any(topic.endswith("/power_w") for topic in retained)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rest, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest, _ = proc.communicate()
            raise AssertionError("demo did not stop within 20 s of Ctrl-C:\n" + "".join(lines) + rest) from None
    output = "".join(lines) + rest
    assert proc.returncode == 0, output
    assert "Traceback" not in output
    assert "gateway.daemon: stopped" in output
    assert (tmp_path / "state" / "journal.sqlite").exists()
