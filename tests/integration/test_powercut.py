"""Power cuts: the real daemon SIGKILLed at random moments 50 times loses no acknowledged point.

Given the daemon writing ~2,000 synthetic points/s to its journal and uploading them to a
real influxd 1.6, when it is killed without warning at random moments (during start-up,
commits and uploads) and restarted each time, then: the journal passes SQLite's integrity
check after every kill, every point the journal acknowledged as durable is on the server,
and no point is stored twice. The unacknowledged loss (the last group-commit window) is
reported, not asserted: it is the documented price of group commit.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.influx_servers import InfluxV1Server
from tests.support.powercut import run_campaign

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_fifty_power_cuts_lose_no_acknowledged_point(tmp_path: Path, influxd_v1: InfluxV1Server) -> None:
    report = run_campaign(
        tmp_path / "state", influxd_v1, cycles=50, rate=2000, kill_window_s=(0.05, 0.7), commit_interval_s=0.25
    )
    print(report.summary())
    assert report.integrity_failures == []
    assert report.acknowledged > 10_000  # the daemon really ran and committed between kills
    assert report.lost_acknowledged == 0
    assert report.duplicates == 0
    assert report.stored >= report.acknowledged
