"""Both InfluxDB write APIs against the real servers: what goes in comes back exactly.

Given a gateway whose journal holds metered points, when its sink drains to a real server
(influxd 1.6 through ``/write``, VictoriaMetrics through influxdb-client's v2 API), then the
server's own query API returns exactly those points, every one tagged with the site, once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.journal import Journal, JournalRow
from gateway.model import Reading
from gateway.schema.sinks import InfluxV1SinkConfig
from gateway.sinks import influx
from gateway.sinks.influx import InfluxSink
from gateway.sinks.influx_http import Answer, V1Transport
from tests.support.faulty_proxy import faulty_proxy
from tests.support.influx_servers import InfluxV1Server, VictoriaServer, as_set, start_influxd
from tests.support.procs import free_port
from tests.support.upload_harness import (
    MiniGateway,
    expected_points,
    gateway_config,
    influx_v1_sink,
    influx_v2_sink,
    meter_readings,
)

pytestmark = pytest.mark.integration


async def test_v1_write_api_to_influxd_round_trips_exactly(tmp_path: Path, influxd_v1: InfluxV1Server) -> None:
    readings = list(meter_readings(site="saint-martin", devices=5, count=400))  # 2,000 points
    config = gateway_config(tmp_path / "gw", influx_v1_sink("local", influxd_v1.url, batch_size=300))
    async with MiniGateway(config) as gw:
        gw.publish_all(readings)
        await gw.wait_delivered("local")
        assert gw.metrics.get("gateway_sink_points_total", sink="local") == len(readings)
        assert gw.metrics.get("gateway_sink_bytes_total", sink="local") > 0
        assert gw.metrics.get("gateway_sink_up", sink="local") == 1.0
    stored = as_set(influxd_v1.points())
    assert stored == expected_points(readings)
    assert all(dict(p.tags)["site"] == "saint-martin" for p in stored)


async def test_v2_api_through_influxdb_client_to_victoria_metrics(tmp_path: Path, victoria: VictoriaServer) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    token.chmod(0o600)
    readings = list(meter_readings(site="saint-martin", devices=4, count=300))
    config = gateway_config(
        tmp_path / "gw", influx_v2_sink("remote", victoria.url, token_file=str(token), batch_size=250)
    )
    async with MiniGateway(config) as gw:
        gw.publish_all(readings)
        await gw.wait_delivered("remote")
    expected = expected_points(readings, ms=True)
    stored = as_set(victoria.wait_points(len(expected)))
    assert stored == expected
    assert all(dict(p.tags)["site"] == "saint-martin" for p in stored)


async def test_a_group_readable_token_file_is_reported_loudly(
    tmp_path: Path, victoria: VictoriaServer, caplog: pytest.LogCaptureFixture
) -> None:
    token = tmp_path / "token"
    token.write_text("tok")
    token.chmod(0o644)
    config = gateway_config(tmp_path / "gw", influx_v2_sink("remote", victoria.url, token_file=str(token)))
    with caplog.at_level(logging.WARNING, logger="gateway.sinks.influx"):
        async with MiniGateway(config):
            pass
    assert any("SECURITY" in r.message and "chmod 600" in r.message for r in caplog.records)
    assert oct(os.stat(token).st_mode & 0o777) == "0o644"  # warned, not silently "fixed"


async def test_field_type_conflict_is_set_aside_and_does_not_block(tmp_path: Path, influxd_v1: InfluxV1Server) -> None:
    good = list(meter_readings(site="saint-martin", devices=3, count=300))
    # Three points whose power_w is a string: influxd refuses them (field type conflict, HTTP 400).
    bad = [
        Reading.make(
            "meter",
            {"site": "saint-martin", "building": "mairie", "zone": "bureaux", "device": "meter-1"},
            {"power_w": f"broken-{i}"},
            time_ns=good[0].time_ns + 10**9 * (1000 + i),
        )
        for i in range(3)
    ]
    mixed = good[:450] + bad[:2] + good[450:] + bad[2:]
    config = gateway_config(tmp_path / "gw", influx_v1_sink("local", influxd_v1.url, batch_size=200))
    async with MiniGateway(config) as gw:
        gw.core.publish(good[0])  # the first write fixes power_w as a float
        await gw.wait_delivered("local")
        gw.publish_all(mixed[1:])
        await gw.wait_delivered("local")
        assert gw.metrics.get("gateway_sink_rejected_total", sink="local") == 3
    assert as_set(influxd_v1.points()) == expected_points(good)
    rejected = (tmp_path / "gw" / "rejected-local.lp").read_text().splitlines()
    assert sorted(line for line in rejected if not line.startswith("#")) == [
        f'meter,building=mairie,device=meter-1,site=saint-martin,zone=bureaux power_w="broken-{i}" {b.time_ns}'
        for i, b in enumerate(bad)
    ]
    assert all("field type conflict" in line for line in rejected if line.startswith("#"))


async def test_sink_down_for_a_while_then_back_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    first = list(meter_readings(site="saint-martin", devices=3, count=200))
    later = first[-1].time_ns + 10**9
    during = list(meter_readings(site="saint-martin", devices=3, count=500, start_ns=later, first_seq=10_000))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = gateway_config(tmp_path / "gw", influx_v1_sink("local", url, down_after_s=0.2))
    async with MiniGateway(config) as gw:
        with start_influxd(tmp_path / "influxd", port=port):
            gw.publish_all(first)
            await gw.wait_delivered("local")
        # Given the server is gone, when points keep coming, then the sink reports itself down once...
        gw.publish_all(during)
        gw.journal.commit()
        for _ in range(200):
            if gw.metrics.get("gateway_sink_up", sink="local") == 0.0:
                break
            await asyncio.sleep(0.05)
        assert gw.metrics.get("gateway_sink_up", sink="local") == 0.0
        assert await gw.backlog("local") > 0
        # ...and when it is back, everything arrives, once, and the recovery is reported once.
        with start_influxd(tmp_path / "influxd", port=port) as server:
            await gw.wait_delivered("local")
            stored = as_set(server.points())
        kinds = [e.kind for e in gw.core.recent_events]
        assert kinds.count("sink_down") == 1
        assert kinds.count("sink_recovered") == 1
    assert {p for p in stored if p.name.startswith("meter_")} == expected_points(first + during)


async def test_the_sink_resumes_from_its_cursor_after_a_restart(tmp_path: Path, influxd_v1: InfluxV1Server) -> None:
    readings = list(meter_readings(site="saint-martin", devices=5, count=2000))
    config = gateway_config(tmp_path / "gw", influx_v1_sink("local", influxd_v1.url, batch_size=500))
    async with MiniGateway(config) as gw:
        gw.publish_all(readings[:6000])
        gw.journal.commit()
        await asyncio.sleep(0.05)  # stopped in the middle of draining
    async with MiniGateway(config) as gw:
        gw.publish_all(readings[6000:])
        await gw.wait_delivered("local")
    assert as_set(influxd_v1.points()) == expected_points(readings)


async def test_v1_basic_auth_with_a_password_file_against_influxd_with_auth(tmp_path: Path) -> None:
    readings = list(meter_readings(site="saint-martin", devices=2, count=100))
    good, bad = tmp_path / "good.password", tmp_path / "bad.password"
    good.write_text("s3cret\n")
    bad.write_text("wrong\n")
    for f in (good, bad):
        f.chmod(0o600)
    with start_influxd(tmp_path / "influxd", admin=("gateway", "s3cret")) as server:
        wrong = gateway_config(
            tmp_path / "gw-wrong",
            influx_v1_sink("local", server.url, username="gateway", password_file=str(bad), max_backoff_s=0.2),
        )
        async with MiniGateway(wrong) as gw:
            gw.publish_all(readings)
            gw.journal.commit()
            for _ in range(100):
                if gw.metrics.get("gateway_sink_errors_total", sink="local", kind="auth") >= 2:
                    break
                await asyncio.sleep(0.05)
            assert gw.metrics.get("gateway_sink_points_total", sink="local") == 0
            assert [e.kind for e in gw.core.recent_events].count("sink_auth") == 1
        right = gateway_config(
            tmp_path / "gw-right", influx_v1_sink("local", server.url, username="gateway", password_file=str(good))
        )
        async with MiniGateway(right) as gw:
            gw.publish_all(readings)
            await gw.wait_delivered("local")
        assert as_set(server.points()) == expected_points(readings)


async def test_a_failing_journal_never_takes_the_sink_task_down(
    tmp_path: Path, influxd_v1: InfluxV1Server, caplog: pytest.LogCaptureFixture
) -> None:
    config = gateway_config(tmp_path / "gw", influx_v1_sink("local", influxd_v1.url, max_backoff_s=0.1))
    gw = MiniGateway(config)
    sink = gw.sinks["local"]
    sink.prepare()
    task = asyncio.create_task(sink.run())
    gw.journal.close()  # every fetch now fails
    with caplog.at_level(logging.ERROR, logger="gateway.sinks.influx"):
        for _ in range(100):
            if gw.metrics.get("gateway_sink_errors_total", sink="local", kind="internal") >= 3:
                break
            await asyncio.sleep(0.05)
    assert gw.metrics.get("gateway_sink_errors_total", sink="local", kind="internal") >= 3
    assert not task.done()
    assert sum("cannot drain" in r.message for r in caplog.records) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


class CountingTransport:
    """The real v1 transport, counting the POSTs in flight (they run in the sink's threads)."""

    def __init__(self, config: InfluxV1SinkConfig) -> None:
        self.inner = V1Transport(config, password=None, pool_size=config.concurrency)
        self.in_flight = 0
        self._lock = threading.Lock()

    def post(self, body: bytes, *, gzipped: bool) -> Answer:
        with self._lock:
            self.in_flight += 1
        try:
            return self.inner.post(body, gzipped=gzipped)
        finally:
            with self._lock:
                self.in_flight -= 1

    def close(self) -> None:
        self.inner.close()


@dataclass
class Fetched:
    after: int | None
    ids: list[int]
    posts_in_flight: int  # when the fetch returned


class RecordingJournal:
    """The real journal as the sink sees it, recording fetches and advances in order."""

    def __init__(self, journal: Journal, transport: CountingTransport) -> None:
        self.journal = journal
        self.transport = transport
        self.log: list[Fetched | int] = []  # Fetched, or the id of an advance

    async def fetch(
        self, sink: str, limit: int = 5000, max_bytes: int = 1_000_000, after: int | None = None
    ) -> list[JournalRow]:
        rows = await self.journal.fetch(sink, limit, max_bytes, after)
        self.log.append(Fetched(after, [r.id for r in rows], self.transport.in_flight))
        return rows

    async def advance(self, sink: str, last_id: int) -> None:
        await self.journal.advance(sink, last_id)
        self.log.append(last_id)

    def stats(self) -> object:
        return self.journal.stats()

    def fetches(self) -> list[Fetched]:
        return [e for e in self.log if isinstance(e, Fetched)]

    def advances(self) -> list[int]:
        return [e for e in self.log if isinstance(e, int)]


def recorded_gateway(tmp_path: Path, url: str) -> tuple[MiniGateway, RecordingJournal]:
    """A gateway whose sink ``remote`` is instrumented (small windows: 2 lanes x 200 points)."""
    sink_toml = influx_v1_sink("remote", url, batch_size=200, min_batch_size=100, max_batch_size=200,
                               concurrency=2, timeout_s=30)  # fmt: skip
    config = gateway_config(tmp_path / "gw", sink_toml)
    gw = MiniGateway(config)
    sink_config = config.sinks["remote"]
    assert isinstance(sink_config, InfluxV1SinkConfig)
    transport = CountingTransport(sink_config)
    recording = RecordingJournal(gw.journal, transport)
    gw.sinks["remote"] = InfluxSink(name="remote", config=sink_config, core=gw.core, journal=recording,
                                    rejected_path=tmp_path / "rejected.lp", transport=transport)  # fmt: skip
    return gw, recording


async def test_the_next_window_is_fetched_while_the_current_one_is_posted(
    tmp_path: Path, influxd_v1: InfluxV1Server
) -> None:
    readings = list(meter_readings(site="saint-martin", devices=5, count=400))  # 2,000 points: 5 windows
    with faulty_proxy(influxd_v1.port) as proxy:
        proxy.default = "slow:0.2"  # a slow server: every answer 0.2 s late
        gw, recording = recorded_gateway(tmp_path, proxy.url)
        for reading in readings:
            gw.journal.append(reading)
        gw.journal.commit()
        async with gw:
            await gw.wait_delivered("remote")
    fetches, advances = recording.fetches(), recording.advances()
    ahead = [f for f in fetches if f.after is not None and f.ids]
    assert len(ahead) >= 3
    # Each read-ahead starts right after the window in flight and returns before that window is
    # acknowledged: it happened while the window was being posted (the cursor was still behind).
    for f in ahead:
        assert f.after is not None
        assert f.ids[0] == f.after + 1
        assert recording.log.index(f) < recording.log.index(f.after)
    assert any(f.posts_in_flight for f in ahead)
    # The cursor moved in order, window by window, over exactly the rows fetched: no hole, no overlap.
    delivered = [i for f in fetches if f.ids and f.ids[-1] in advances for i in f.ids]
    assert delivered == list(range(1, len(readings) + 1))
    assert advances == sorted(set(advances))
    assert as_set(influxd_v1.points()) == expected_points(readings)


async def test_a_crash_with_a_window_in_flight_and_one_read_ahead_resends_everything(
    tmp_path: Path, influxd_v1: InfluxV1Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    readings = list(meter_readings(site="saint-martin", devices=5, count=400))
    monkeypatch.setattr(influx, "_FINAL_FLUSH_S", 0.05)  # no time for a last flush: as good as a crash
    with faulty_proxy(influxd_v1.port) as proxy:
        proxy.default = "slow:1"
        gw, recording = recorded_gateway(tmp_path, proxy.url)
        for reading in readings:
            gw.journal.append(reading)
        gw.journal.commit()
        # Given a window being posted and the next one already fetched ahead...
        async with gw:
            for _ in range(200):
                if any(f.after is not None and f.ids for f in recording.fetches()):
                    break
                await asyncio.sleep(0.01)
            assert any(f.after is not None and f.ids for f in recording.fetches())
            assert recording.transport.in_flight > 0
        # ...when the gateway dies before any answer, then the cursor has not moved...
        assert recording.advances() == []
        assert gw.journal.stats().sinks["remote"].cursor == 0  # closed: what the next life starts from
        # ...and the next life resends everything from the cursor: nothing lost, nothing twice.
        proxy.default = "pass"
        config = gateway_config(tmp_path / "gw", influx_v1_sink("remote", proxy.url))
        async with MiniGateway(config) as gw:
            await gw.wait_delivered("remote")
            assert gw.metrics.get("gateway_sink_points_total", sink="remote") == len(readings)
    assert as_set(influxd_v1.points()) == expected_points(readings)  # as_set fails on a duplicate
