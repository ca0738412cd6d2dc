"""The fleet scenario shared by ``tests/integration/test_fleet.py`` and ``bench/fleet.py``.

``gateways`` in-process gateways (each its own journal, core and remote sink, a distinct
``site`` tag) upload to one central VictoriaMetrics concurrently. Each reaches it through its
own proxy, which goes down for a while at a staggered moment (502, like a reverse proxy in
front of an unreachable server). Time is simulated: each step every gateway publishes the
next slice of its readings. At the end everything must be on the central server, exactly.

:func:`upload_fleet` is the plain case (no outage) towards any InfluxDB 1.x: the intercommunality's
dashboards are tested against what it leaves on a real ``influxd``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

from gateway.model import Event, Reading
from tests.support.faulty_proxy import FaultyProxy
from tests.support.influx_servers import as_set, start_victoria
from tests.support.upload_harness import (
    T0_NS,
    MiniGateway,
    demo_readings,
    expected_points,
    gateway_config,
    influx_v1_sink,
    influx_v2_sink,
)

LIGHT = (
    ("meter", "mairie", "mairie-general", 60),
    ("meter", "ecole", "ecole-general", 60),
    ("climate", "mairie", "mairie-t1", 300),
)


@dataclass
class FleetReport:
    """What the central server saw."""

    gateways: int = 0
    readings: int = 0
    values: int = 0
    wall_s: float = 0.0
    catch_up_s: float = 0.0
    catch_up_lines: int = 0  # lines delivered after the last outage ended (the backlog)
    missing: int = 0
    extra: int = 0
    bytes_per_gateway: list[float] = field(default_factory=list)
    outages: int = 0

    def summary(self) -> str:
        per_gw = sum(self.bytes_per_gateway) / max(1, len(self.bytes_per_gateway))
        per_value = sum(self.bytes_per_gateway) / max(1, self.values)
        return (
            f"{self.gateways} gateways, {self.readings} lines ({self.values} values), {self.outages} outages; "
            f"central ingest {self.values / self.wall_s:,.0f} values/s over {self.wall_s:.1f} s "
            f"(final catch-up: {self.catch_up_lines} lines in {self.catch_up_s:.1f} s, "
            f"{self.catch_up_lines / max(self.catch_up_s, 1e-9):,.0f} lines/s); gzip sent per gateway {per_gw / 1e3:.1f} kB "
            f"({per_value:.2f} B per value); missing {self.missing}, extra {self.extra}"
        )


async def run_fleet(
    root: Path,
    *,
    gateways: int,
    days: float,
    steps: int = 12,
    devices: tuple[tuple[str, str, str, int], ...] = LIGHT,
    outage_steps: int = 3,
) -> FleetReport:
    """Run the fleet; return the report (the caller asserts)."""
    report = FleetReport(gateways=gateways)
    seconds = int(days * 86400)
    slice_s = seconds // steps
    with start_victoria(root / "central") as central, contextlib.ExitStack() as stack:
        proxies = [stack.enter_context(FaultyProxy(upstream_port=central.port)) for _ in range(gateways)]
        fleet: list[MiniGateway] = []
        for g, proxy in enumerate(proxies):
            site = f"village-{g:02d}"
            config = gateway_config(
                root / site,
                influx_v2_sink("central", proxy.url, down_after_s=0.5, max_backoff_s=2.0),
                site=site,
                commit_interval_s=0.2,
            )
            fleet.append(MiniGateway(config))
        for gw in fleet:
            await gw.__aenter__()
        expected: list[Reading] = []
        started = time.monotonic()
        try:
            for step in range(steps):
                for g, (gw, proxy) in enumerate(zip(fleet, proxies, strict=True)):
                    down_from = g % steps  # staggered: each gateway's line fails at its own moment
                    down = down_from <= step < down_from + outage_steps
                    if down and proxy.default == "pass":
                        report.outages += 1
                    proxy.default = "status:502" if down else "pass"
                    start_ns = T0_NS + step * slice_s * 1_000_000_000
                    batch = list(demo_readings(site=gw.config.site.id, seconds=slice_s, start_ns=start_ns,
                                               devices=devices))  # fmt: skip
                    gw.publish_all(batch)
                    expected.extend(batch)
                await asyncio.sleep(0.5)
            for proxy in proxies:
                proxy.default = "pass"
            catch_up = time.monotonic()
            sent_before = sum(gw.metrics.get("gateway_sink_points_total", sink="central") for gw in fleet)
            await asyncio.gather(*(gw.wait_delivered("central", within=600) for gw in fleet))
            report.catch_up_s = time.monotonic() - catch_up
            sent_after = sum(gw.metrics.get("gateway_sink_points_total", sink="central") for gw in fleet)
            report.catch_up_lines = int(sent_after - sent_before)
            report.wall_s = time.monotonic() - started
            report.bytes_per_gateway = [gw.metrics.get("gateway_sink_bytes_total", sink="central") for gw in fleet]
        finally:
            for gw in fleet:
                await gw.__aexit__(None, None, None)
        report.readings = len(expected)
        want = expected_points(expected, ms=True)
        report.values = len(want)
        got = {p for p in as_set(central.wait_points(len(want), timeout=120)) if not p.name.startswith("event_")}
        report.missing = len(want - got)
        report.extra = len(got - want)
    return report


async def upload_fleet(
    root: Path,
    url: str,
    readings: dict[str, list[Reading]],
    *,
    events: dict[str, list[Event]] | None = None,
    within: float = 300.0,
) -> dict[str, int]:
    """Each site of ``readings`` is its own in-process gateway (journal, core, influx-v1 sink to ``url``,
    database ``village``): its readings are published and its events raised through the core, then every
    gateway waits until its sink delivered everything. Returns the points sent per site."""
    gateways = {
        site: MiniGateway(gateway_config(root / site, influx_v1_sink("intercommunalite", url), site=site,
                                         commit_interval_s=0.2))
        for site in readings
    }
    sent: dict[str, int] = {}
    for gw in gateways.values():
        await gw.__aenter__()
    try:
        for site, gw in gateways.items():
            sent[site] = gw.publish_all(readings[site])
            for event in (events or {}).get(site, []):
                gw.core.raise_event(event)
        await asyncio.gather(*(gw.wait_delivered("intercommunalite", within=within) for gw in gateways.values()))
    finally:
        for gw in gateways.values():
            await gw.__aexit__(None, None, None)
    return sent
