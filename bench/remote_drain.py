"""Upload benchmark: the sink's drain rate against the raw client's write rate, and RSS on a huge backlog.

Usage::

    .venv/bin/python bench/remote_drain.py                 # rates on 500k points, both servers
    .venv/bin/python bench/remote_drain.py --points 2000000
    .venv/bin/python bench/remote_drain.py --backlog 20000000   # + RSS while draining 20 M points

For each server type (influxd 1.6 through ``/write``; VictoriaMetrics through the v2 API), in
the same run and on the same server:

- **raw client**: the same lines written as fast as one client can: influxdb-client's
  ``WriteApi`` (synchronous, gzip, batches of 5,000) for v2; urllib3 ``POST /write`` (gzip,
  batches of 5,000) for v1 — no journal, no cursor, lines already in memory;
- **sink**: the journal holds the same lines (filled before timing), the real
  :class:`~gateway.sinks.influx.InfluxSink` drains it from its cursor (fetch, gzip, POST,
  advance; the next window fetched and gzipped while the current one is posted) until the
  backlog is empty.

Prints points/s for both and the ratio (target >= 80 %). With ``--backlog N`` it fills the
journal with N points (server down), then starts the server and samples this process's RSS
while the sink drains them all.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support helpers

import urllib3

from gateway.model import Reading
from tests.support.influx_servers import start_influxd, start_victoria
from tests.support.procs import free_port
from tests.support.upload_harness import (
    T0_NS,
    MiniGateway,
    gateway_config,
    influx_v1_sink,
    influx_v2_sink,
    rss_mb,
)

BATCH = 5000


def readings(n: int, *, site: str = "bench", start_ns: int = T0_NS) -> list[Reading]:
    """``n`` meter readings over 50 devices, one second apart per device (4 fields each)."""
    out = []
    for i in range(n):
        d, k = i % 50, i // 50
        out.append(
            Reading(
                "meter",
                (("building", "mairie"), ("device", f"m{d:02d}"), ("site", site)),
                (("energy_import_kwh", k * 0.001), ("power_w", 100.0 + i % 997), ("seq", i), ("voltage_v", 231.5)),
                start_ns + k * 1_000_000_000,
            )
        )
    return out


def lines_of(rs: list[Reading]) -> list[bytes]:
    from gateway import lineproto

    return [lineproto.encode(r) for r in rs]


def raw_v1(url: str, db: str, lines: list[bytes]) -> float:
    pool = urllib3.PoolManager(retries=False)
    started = time.monotonic()
    for i in range(0, len(lines), BATCH):
        body = gzip.compress(b"\n".join(lines[i : i + BATCH]), compresslevel=5)
        resp = pool.request("POST", f"{url}/write?db={db}&precision=ns", body=body,
                            headers={"Content-Encoding": "gzip"})  # fmt: skip
        assert resp.status == 204, resp.data
    return len(lines) / (time.monotonic() - started)


def raw_v2(url: str, lines: list[bytes]) -> float:
    from influxdb_client.client.influxdb_client import InfluxDBClient
    from influxdb_client.client.write_api import SYNCHRONOUS
    from influxdb_client.domain.write_precision import WritePrecision

    with InfluxDBClient(url=url, token="t", org="village", enable_gzip=True) as client:
        api = client.write_api(write_options=SYNCHRONOUS)
        started = time.monotonic()
        for i in range(0, len(lines), BATCH):
            api.write(bucket="raw", record=b"\n".join(lines[i : i + BATCH]), write_precision=WritePrecision.NS)
        return len(lines) / (time.monotonic() - started)


async def fill(gw: MiniGateway, rs: list[Reading], chunk: int = 40_000) -> None:
    for i in range(0, len(rs), chunk):
        for r in rs[i : i + chunk]:
            gw.journal.append(r)
        gw.journal.commit()


async def sink_rate(tmp: Path, sink_toml: str, rs: list[Reading]) -> float:
    config = gateway_config(tmp, sink_toml, commit_interval_s=1.0, budget_mb=100_000)
    gw = MiniGateway(config)
    await fill(gw, rs)  # journal filled while no sink runs
    async with gw:
        took = await gw.wait_delivered("remote", within=3600)
    return len(rs) / took


def _line(label: str, raws: list[float], sinks: list[float], note: str) -> None:
    raw, sink = sum(raws) / len(raws), sum(sinks) / len(sinks)
    each_raw = ", ".join(f"{x:,.0f}" for x in raws)
    each_sink = ", ".join(f"{x:,.0f}" for x in sinks)
    print(f"{label:<24} raw {raw:>9,.0f} pts/s   sink {sink:>9,.0f} pts/s   {sink / raw:6.1%}   "
          f"(rounds: raw {each_raw}; sink {each_sink}) {note}")  # fmt: skip


async def compare(points: int, rounds: int, concurrency: int) -> None:
    """Interleaved rounds (raw, sink, raw, sink...) into fresh targets, so neither gets the easier server state."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with start_influxd(tmp / "influxd") as server:
            raws, sinks = [], []
            for n in range(rounds):
                rs = readings(points, site=f"r{n}")
                server.create_database(f"raw{n}")
                raws.append(raw_v1(server.url, f"raw{n}", lines_of(rs)))
                server.create_database(f"sink{n}")
                sink = influx_v1_sink("remote", server.url, database=f"sink{n}", concurrency=concurrency)
                sinks.append(await sink_rate(tmp / f"gw-v1-{n}", sink, rs))
            _line("influxd 1.6 /write", raws, sinks, "(raw = urllib3 POST /write, gzip, 5,000/batch)")
        with start_victoria(tmp / "vm") as vm:
            raws, sinks = [], []
            for n in range(rounds):
                raws.append(raw_v2(vm.url, lines_of(readings(points, site=f"raw{n}"))))
                sink = influx_v2_sink("remote", vm.url, concurrency=concurrency)
                sinks.append(await sink_rate(tmp / f"gw-v2-{n}", sink, readings(points, site=f"sink{n}")))
            _line("VictoriaMetrics v2 API", raws, sinks, "(raw = influxdb-client WriteApi SYNCHRONOUS, gzip)")


async def backlog(points: int) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        port = free_port()
        config = gateway_config(
            tmp / "gw", influx_v2_sink("remote", f"http://127.0.0.1:{port}"), commit_interval_s=1.0, budget_mb=100_000
        )
        gw = MiniGateway(config)
        print(f"filling the journal with {points:,} points (server down)...", flush=True)
        started = time.monotonic()
        chunk = 40_000
        for i in range(0, points, chunk):
            rs = readings(min(chunk, points - i), start_ns=T0_NS + (i // 50) * 1_000_000_000)
            for r in rs:
                gw.journal.append(r)
            gw.journal.commit()
        stats = gw.journal.stats()
        print(f"  filled in {time.monotonic() - started:.0f} s; journal {stats.bytes_on_disk / 1e9:.2f} GB; "
              f"RSS {rss_mb():.0f} MB")  # fmt: skip
        with start_victoria(tmp / "vm", port=port):
            before = rss_mb()
            peak = before
            async with gw:
                started = time.monotonic()
                task = asyncio.create_task(gw.wait_delivered("remote", within=7200))
                while not task.done():
                    peak = max(peak, rss_mb())
                    await asyncio.sleep(0.5)
                took = task.result()
        print(f"  drained {points:,} points in {took:.0f} s ({points / took:,.0f} pts/s); "
              f"RSS {before:.0f} MB before, peak {peak:.0f} MB during the drain")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=500_000, help="points for the rate comparison")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per server")
    parser.add_argument("--concurrency", type=int, default=2, help="the sink's concurrency setting")
    parser.add_argument("--backlog", type=int, default=0, help="also drain a backlog of this many points")
    args = parser.parse_args()
    print(f"{args.points:,} points per round, 4 fields each; sink concurrency {args.concurrency}")
    asyncio.run(compare(args.points, args.rounds, args.concurrency))
    if args.backlog:
        asyncio.run(backlog(args.backlog))


if __name__ == "__main__":
    main()
