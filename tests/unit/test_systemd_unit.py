"""The systemd unit: Type=notify with a watchdog, restart policy, and an exposure score ≤ 2.0
measured by systemd's own analyser (``systemd-analyze security --offline=true``)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.support.procs import require_tool

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "village-gateway.service"


def directives(path: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


def test_exposure_score_is_at_most_2() -> None:
    tool = require_tool("systemd-analyze")
    result = subprocess.run(
        [tool, "security", "--offline=true", "--no-pager", str(UNIT)], capture_output=True, text=True, check=False
    )
    match = re.search(r"Overall exposure level for village-gateway\.service: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    score = float(match.group(1))
    print(f"systemd-analyze security exposure: {score}")
    assert score <= 2.0, result.stdout


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("WatchdogSec", "60"),
        ("Restart", "on-failure"),
        ("StartLimitIntervalSec", "600"),
        ("StartLimitBurst", "5"),
        ("User", "village-gateway"),
        ("ProtectSystem", "strict"),
        ("ReadWritePaths", "/var/lib/village-gateway"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("NoNewPrivileges", "yes"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX AF_NETLINK AF_BLUETOOTH"),
        ("CapabilityBoundingSet", ""),
        ("DevicePolicy", "closed"),
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
        ("ExecStart", "/opt/village-gateway/bin/village-gateway run --config /etc/village-gateway/gateway.toml"),
    ],
)
def test_unit_declares(key: str, value: str) -> None:
    assert value in directives(UNIT).get(key, []), f"{key}={value} missing"


def test_system_calls_and_devices() -> None:
    found = directives(UNIT)
    assert found["SystemCallFilter"][0] == "@system-service"
    assert "@clock" not in " ".join(found["SystemCallFilter"])  # nothing adds back @clock: ProtectClock holds
    assert found["ProtectClock"] == ["yes"]
    assert set(found["DeviceAllow"]) == {
        "char-ttyUSB rw",
        "char-ttyACM rw",
        "char-ttyAMA rw",
        "char-ttyS rw",
        "char-gpiochip rw",
        "/dev/gpiomem rw",
    }
