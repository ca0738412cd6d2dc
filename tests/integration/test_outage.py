"""A week-long outage of the intercommunality's server, fed faster than real time.

Given a gateway with a local InfluxDB (up) and the remote server down, when a week of
readings arrives (with their own timestamps), then the local sink keeps up hour after hour,
the journal holds everything within its disk budget without dropping anything, and when the
server comes back every point arrives, exactly once, each series in time order, while memory
stays flat. (Short version: a lighter load than the demo's; ``bench/outage.py`` runs the
demo's full week.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.outage import run_outage

pytestmark = [pytest.mark.integration, pytest.mark.slow]

#: A lighter week than the demo's: two meters every minute and one thermometer every 5 minutes.
LIGHT = (("meter", "mairie", "mairie-general", 60), ("meter", "ecole", "ecole-general", 60),
         ("climate", "mairie", "mairie-t1", 300))  # fmt: skip


async def test_a_week_without_the_remote_server_loses_nothing(tmp_path: Path) -> None:
    report = await run_outage(tmp_path, days=7, devices=LIGHT, budget_mb=32)
    print(report.summary())
    assert report.readings == 7 * 24 * (60 + 60 + 12)
    assert report.remote_missing == 0
    assert report.remote_extra == 0
    assert report.local_missing == 0
    assert report.order_violations == 0
    assert report.dropped == 0
    assert report.journal_used_max_mb <= report.budget_mb
    # the local sink was never held back by the remote one: after every simulated hour it had
    # delivered everything (run_outage waits for that, hour by hour) while the remote held it all
    assert report.hours_local_caught_up == 7 * 24
    assert report.rss_peak_drain_mb - report.rss_before_drain_mb < 32
