"""The week-long outage scenario shared by ``tests/integration/test_outage.py`` and ``bench/outage.py``.

A gateway with a local sink (influxd 1.6, always up) and a remote sink (VictoriaMetrics behind
a proxy; the server itself not running) is fed ``days`` of the demo village's load with the
points' own timestamps, hour by hour, faster than real time. Then the remote server starts and
the backlog drains. Measured: the local sink's catch-up after each hour (never held back by
the remote), RSS before and during the drain, the journal's size against its budget, drops,
the drain rate; and what arrived, compared exactly, with per-series order as sent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gateway.model import Reading
from tests.support.faulty_proxy import faulty_proxy
from tests.support.influx_servers import (
    InfluxV1Server,
    Point,
    VictoriaServer,
    as_set,
    start_influxd,
    start_victoria,
)
from tests.support.upload_harness import (
    DEMO_DEVICES,
    T0_NS,
    MiniGateway,
    demo_readings,
    expected_points,
    gateway_config,
    influx_v1_sink,
    influx_v2_sink,
    rss_mb,
)


@dataclass
class OutageReport:
    """Figures and findings of one outage run."""

    readings: int = 0
    points: int = 0  # field values
    local_catch_up_max_s: float = 0.0
    hours_local_caught_up: int = 0  # simulated hours after which local had everything, remote not
    rss_before_drain_mb: float = 0.0
    rss_peak_drain_mb: float = 0.0
    journal_used_max_mb: float = 0.0
    budget_mb: float = 0.0
    dropped: int = 0
    drain_s: float = 0.0
    remote_missing: int = 0
    remote_extra: int = 0
    local_missing: int = 0
    order_violations: int = 0
    remote_bytes: float = 0.0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        rate = self.readings / self.drain_s if self.drain_s else 0.0
        return (
            f"{self.readings} readings ({self.points} values) held through the outage; drained in "
            f"{self.drain_s:.1f} s ({rate:,.0f} lines/s, {self.remote_bytes / 1e6:.1f} MB gzip sent); "
            f"local sink caught up within {self.local_catch_up_max_s:.2f} s after every hour; RSS "
            f"{self.rss_before_drain_mb:.0f} MB before the drain, {self.rss_peak_drain_mb:.0f} MB peak during; "
            f"journal max {self.journal_used_max_mb:.1f} MB of {self.budget_mb:.0f} MB budget, dropped {self.dropped}; "
            f"remote missing {self.remote_missing}, extra {self.remote_extra}, local missing {self.local_missing}, "
            f"order violations {self.order_violations}"
        )


def _hours(days: float, devices: tuple[tuple[str, str, str, int], ...], site: str) -> Iterator[list[Reading]]:
    """The scenario's readings, one simulated hour at a time."""
    for h in range(int(days * 24)):
        start_ns = T0_NS + h * 3600 * 1_000_000_000
        yield list(demo_readings(site=site, seconds=3600, start_ns=start_ns, devices=devices))


async def run_outage(
    root: Path,
    *,
    days: float = 7,
    devices: tuple[tuple[str, str, str, int], ...] = DEMO_DEVICES,
    budget_mb: float = 256,
    compare: bool = True,
) -> OutageReport:
    """Run the scenario in ``root``; return the report (the caller asserts on it)."""
    report = OutageReport(budget_mb=budget_mb)
    site = "saint-martin"
    order: dict[bytes, int] = {}

    def check_order(body: bytes) -> None:
        for line in body.split(b"\n"):
            key, _, rest = line.partition(b" ")
            ts = int(rest.rpartition(b" ")[2])
            if ts < order.get(key, 0):
                report.order_violations += 1
            order[key] = ts

    with start_influxd(root / "influxd") as local, faulty_proxy(0) as proxy:
        proxy.on_delivered = check_order
        config = gateway_config(
            root / "gw",
            influx_v1_sink("local", local.url),
            influx_v2_sink("remote", proxy.url, down_after_s=1.0, max_backoff_s=2.0),
            site=site,
            budget_mb=budget_mb,
            commit_interval_s=0.2,
        )
        async with MiniGateway(config) as gw:
            for hour in _hours(days, devices, site):
                report.readings += gw.publish_all(hour)
                report.points += sum(len(r.fields) for r in hour)
                took = await gw.wait_delivered("local", within=120)
                report.local_catch_up_max_s = max(report.local_catch_up_max_s, took)
                if await gw.backlog("local") == 0 and await gw.backlog("remote") > 0:
                    report.hours_local_caught_up += 1
                stats = gw.journal.stats()
                report.journal_used_max_mb = max(report.journal_used_max_mb, stats.used_bytes / 1e6)
            assert await gw.backlog("remote") > 0, "the remote sink should be holding everything"
            report.rss_before_drain_mb = rss_mb()
            with start_victoria(root / "victoria") as central:
                proxy.upstream_port = central.port
                sampler = asyncio.create_task(_sample_rss(report))
                started = time.monotonic()
                await gw.wait_delivered("remote", within=3600)
                report.drain_s = time.monotonic() - started
                sampler.cancel()
                stats = gw.journal.stats()
                report.dropped = sum(s.dropped for s in stats.sinks.values())
                report.journal_used_max_mb = max(report.journal_used_max_mb, stats.used_bytes / 1e6)
                report.remote_bytes = gw.metrics.get("gateway_sink_bytes_total", sink="remote")
                if compare:
                    _compare(report, local, central, days, devices, site)
    return report


async def _sample_rss(report: OutageReport) -> None:
    while True:
        report.rss_peak_drain_mb = max(report.rss_peak_drain_mb, rss_mb())
        await asyncio.sleep(0.1)


def _data(points: list[Point]) -> set[Point]:
    return {p for p in as_set(points) if not p.name.startswith("event_")}


def _compare(
    report: OutageReport,
    local: InfluxV1Server,
    central: VictoriaServer,
    days: float,
    devices: tuple[tuple[str, str, str, int], ...],
    site: str,
) -> None:
    readings = [r for hour in _hours(days, devices, site) for r in hour]
    want_remote = expected_points(readings, ms=True)
    got_remote = _data(central.wait_points(len(want_remote)))
    report.remote_missing = len(want_remote - got_remote)
    report.remote_extra = len(got_remote - want_remote)
    want_local = expected_points(readings)
    got_local = _data(local.points())
    report.local_missing = len(want_local - got_local)
