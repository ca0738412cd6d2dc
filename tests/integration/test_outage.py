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

from tests.support.faulty_proxy import faulty_proxy
from tests.support.influx_servers import as_set, start_victoria
from tests.support.outage import run_outage
from tests.support.upload_harness import (
    T0_NS,
    MiniGateway,
    demo_readings,
    expected_points,
    gateway_config,
    influx_v2_sink,
)

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


async def test_past_the_disk_budget_the_oldest_unsent_points_are_dropped_counted_and_the_rest_arrives(
    tmp_path: Path,
) -> None:
    # Given a 1 MB budget and the remote server gone for four weeks of the light load (~12 MB of lines,
    # ~2 MB of compressed journal blocks)
    readings = [r for day in range(28) for r in demo_readings(
        site="saint-martin", seconds=86400, start_ns=T0_NS + day * 86400 * 10**9, devices=LIGHT)]  # fmt: skip
    with faulty_proxy(0) as proxy:  # nothing behind it yet: 502
        config = gateway_config(tmp_path / "gw", influx_v2_sink("remote", proxy.url, max_backoff_s=0.5), budget_mb=1)
        async with MiniGateway(config) as gw:
            for start in range(0, len(readings), 500):
                gw.publish_all(readings[start : start + 500])
                gw.journal.commit()
            stats = gw.journal.stats()
            dropped = stats.sinks["remote"].dropped
            # then the journal stayed within its budget by dropping the oldest unsent points, counted
            assert dropped > 0
            assert stats.used_bytes <= stats.budget_bytes
            assert gw.metrics.get("gateway_journal_dropped_total", sink="remote") == dropped
            # and when the server is back, exactly the newest points arrive: no gap, no duplicate
            with start_victoria(tmp_path / "victoria") as central:
                proxy.upstream_port = central.port
                await gw.wait_delivered("remote", within=120)
                got = {p for p in as_set(central.settled_points()) if p.name.startswith(("meter_", "climate_"))}
    present = {(dict(p.tags)["device"], p.time_ns) for p in got}
    first = next(i for i, r in enumerate(readings) if (r.tag("device"), r.time_ns) in present)
    assert got == expected_points(readings[first:], ms=True)  # a suffix: only the oldest went
    assert 0 < first <= dropped  # every missing point is a counted drop
