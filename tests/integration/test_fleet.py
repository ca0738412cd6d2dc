"""A fleet of villages uploading to one central server, each with its own outage.

Given 20 gateways (distinct ``site`` tags) whose links to the central VictoriaMetrics fail
at staggered moments, when each publishes a day of readings, then the central server ends
with every point of every village, exactly once. (``bench/fleet.py``: 50 gateways, figures.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.fleet import run_fleet

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_twenty_villages_with_staggered_outages_deliver_everything(tmp_path: Path) -> None:
    report = await run_fleet(tmp_path, gateways=20, days=1, steps=8, outage_steps=3)
    print(report.summary())
    assert report.outages == 20
    assert report.readings == 20 * 24 * (60 + 60 + 12)
    assert report.missing == 0
    assert report.extra == 0
    assert all(sent > 0 for sent in report.bytes_per_gateway)
