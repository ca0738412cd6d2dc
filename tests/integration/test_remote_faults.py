"""Bad answers from the remote server: the right reaction to each, nothing deliverable lost.

A fault-injecting proxy sits between the sink and a real influxd 1.6 (whose writes overwrite
on the same series and time, so every resend is harmless and any loss shows).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from tests.support.faulty_proxy import FaultyProxy, faulty_proxy
from tests.support.influx_servers import InfluxV1Server, Point, VictoriaServer, as_set
from tests.support.tls import self_signed_certificate
from tests.support.upload_harness import (
    MiniGateway,
    expected_points,
    gateway_config,
    influx_v1_sink,
    influx_v2_sink,
    meter_readings,
)

pytestmark = pytest.mark.integration


def meters(points: list[Point]) -> set[Point]:
    """The meter points (events the sink raised are journaled and uploaded too)."""
    return {p for p in as_set(points) if p.name.startswith("meter_")}


READINGS = list(meter_readings(site="saint-martin", devices=4, count=500))  # 2,000 points


async def _deliver_through(tmp_path: Path, proxy: FaultyProxy, **options: object) -> MiniGateway:
    config = gateway_config(tmp_path / "gw", influx_v1_sink("remote", proxy.url, batch_size=500, **options))
    async with MiniGateway(config) as gw:
        gw.publish_all(READINGS)
        await gw.wait_delivered("remote", within=60)
    return gw


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("status:500", "server"),
        ("status:503", "throttled"),
        ("reset", "network"),
        ("reset-after", "network"),  # the server got it, the answer was lost: resent, overwritten
    ],
)
async def test_transient_failures_are_retried_until_delivered(
    tmp_path: Path, influxd_v1: InfluxV1Server, fault: str, kind: str
) -> None:
    with faulty_proxy(influxd_v1.port) as proxy:
        proxy.script(fault, fault, fault)
        gw = await _deliver_through(tmp_path, proxy)
        assert proxy.actions(fault) == 3
    assert gw.metrics.get("gateway_sink_errors_total", sink="remote", kind=kind) == 3
    assert meters(influxd_v1.points()) == expected_points(READINGS)


async def test_retry_after_is_honoured(tmp_path: Path, influxd_v1: InfluxV1Server) -> None:
    with faulty_proxy(influxd_v1.port) as proxy:
        proxy.script("status:429:2")
        await _deliver_through(tmp_path, proxy, min_backoff_s=0.05, concurrency=1)
        waited = proxy.times[1] - proxy.times[0]
    assert waited >= 1.9  # not the 0.05 s backoff: the server's 2 s
    assert meters(influxd_v1.points()) == expected_points(READINGS)


async def test_slow_answers_shrink_the_batch_and_still_deliver(tmp_path: Path, influxd_v1: InfluxV1Server) -> None:
    with faulty_proxy(influxd_v1.port) as proxy:
        proxy.script("slow:1.5", "hang")
        gw = await _deliver_through(tmp_path, proxy, timeout_s=1.0, min_batch_size=50)
    assert gw.metrics.get("gateway_sink_errors_total", sink="remote", kind="timeout") == 2
    assert gw.metrics.get("gateway_sink_batch_size", sink="remote") < 500
    assert meters(influxd_v1.points()) == expected_points(READINGS)


async def test_lines_refused_with_400_are_set_aside_the_rest_delivered(
    tmp_path: Path, influxd_v1: InfluxV1Server
) -> None:
    with faulty_proxy(influxd_v1.port) as proxy:
        proxy.reject_marker = b"seq=777i"  # 4 readings of 500 rounds: seq 777 is one point
        gw = await _deliver_through(tmp_path, proxy)
    assert gw.metrics.get("gateway_sink_rejected_total", sink="remote") == 1
    bad = [r for r in READINGS if r.field_map()["seq"] == 777]
    assert meters(influxd_v1.points()) == expected_points([r for r in READINGS if r not in bad])
    rejected = (tmp_path / "gw" / "rejected-remote.lp").read_text()
    assert "injected bad line" in rejected
    assert rejected.count("seq=777i") == 2  # the line, and the server's error quoting it


async def test_401_is_reported_loudly_once_and_retried_slowly(
    tmp_path: Path, influxd_v1: InfluxV1Server, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        faulty_proxy(influxd_v1.port) as proxy,
        caplog.at_level(logging.ERROR, logger="gateway.sinks.influx"),
    ):
        proxy.script("status:401", "status:401", "status:401")
        gw = await _deliver_through(tmp_path, proxy, max_backoff_s=0.5, concurrency=1)
        gaps = [b - a for a, b in zip(proxy.times[:3], proxy.times[1:4], strict=True)]
    assert [e.kind for e in gw.core.recent_events].count("sink_auth") == 1
    ours = [r.message for r in caplog.records if r.name == "gateway.sinks.influx"]
    assert sum("refuses our credentials" in m for m in ours) == 1
    assert min(gaps) >= 0.45  # the slow pace (max_backoff_s), not the fast backoff
    stored = as_set(influxd_v1.points())
    assert any(p.name == "event_severity" and dict(p.tags)["kind"] == "sink_auth" for p in stored)
    assert meters(influxd_v1.points()) == expected_points(READINGS)


# ---- TLS ------------------------------------------------------------------------------------------


@pytest.fixture
def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with openssl."""
    return self_signed_certificate(tmp_path)


async def test_tls_self_signed_is_refused_without_ca_file(
    tmp_path: Path, victoria: VictoriaServer, self_signed: tuple[Path, Path]
) -> None:
    with faulty_proxy(victoria.port, tls=self_signed) as proxy:
        config = gateway_config(tmp_path / "gw", influx_v2_sink("remote", proxy.url, max_backoff_s=0.2))
        async with MiniGateway(config) as gw:
            gw.publish_all(READINGS[:100])
            gw.journal.commit()
            for _ in range(100):
                if gw.metrics.get("gateway_sink_errors_total", sink="remote", kind="tls") >= 2:
                    break
                await asyncio.sleep(0.05)
            assert await gw.backlog("remote") >= 100  # the 100 points and the sink_tls event
        assert gw.metrics.get("gateway_sink_points_total", sink="remote") == 0
        assert [e.kind for e in gw.core.recent_events].count("sink_tls") == 1
    assert victoria.points() == []


@pytest.mark.parametrize("api", ["v1", "v2"])
async def test_tls_with_the_ca_file_delivers(
    tmp_path: Path,
    victoria: VictoriaServer,
    influxd_v1: InfluxV1Server,
    self_signed: tuple[Path, Path],
    api: str,
) -> None:
    upstream = victoria.port if api == "v2" else influxd_v1.port
    with faulty_proxy(upstream, tls=self_signed) as proxy:
        make = influx_v2_sink if api == "v2" else influx_v1_sink
        config = gateway_config(tmp_path / "gw", make("remote", proxy.url, ca_file=str(self_signed[0])))
        async with MiniGateway(config) as gw:
            gw.publish_all(READINGS)
            await gw.wait_delivered("remote")
    if api == "v2":
        expected = expected_points(READINGS, ms=True)
        assert meters(victoria.wait_points(len(expected))) == expected
    else:
        assert meters(influxd_v1.points()) == expected_points(READINGS)


async def test_verify_tls_false_accepts_the_self_signed_server_but_says_so(
    tmp_path: Path, victoria: VictoriaServer, self_signed: tuple[Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    with faulty_proxy(victoria.port, tls=self_signed) as proxy, caplog.at_level(logging.WARNING):
        config = gateway_config(tmp_path / "gw", influx_v2_sink("remote", proxy.url, verify_tls=False))
        async with MiniGateway(config) as gw:
            gw.publish_all(READINGS)
            await gw.wait_delivered("remote")
    assert any("SECURITY" in r.message and "verify_tls = false" in r.message for r in caplog.records)
    expected = expected_points(READINGS, ms=True)
    assert meters(victoria.wait_points(len(expected))) == expected
