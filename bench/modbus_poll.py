"""Benchmark: the gateway polling 10 Modbus TCP meters every second, journaled, with one InfluxDB sink.

Workload (issue 2): 10 devices (ids 1-10) on one simulated server, each with 20 float32 values at
input registers 0, 2, ..., 38, polled every second; every point goes to the SQLite journal and is
drained to a real ``influxd`` 1.6 (started here on a free port, data in a temporary directory).
The simulated server runs in a **separate process**, so only the gateway is measured: RSS and CPU %
of one core over ``--measure`` seconds (default 60) after ``--warmup`` seconds (default 10).

``--baseline`` measures instead the reference point of the issue on this machine: a minimal
pymodbus loop appending line protocol to a file (no journal, no sink, no daemon).

Usage::

    .venv/bin/python bench/modbus_poll.py            # the gateway (whole daemon)
    .venv/bin/python bench/modbus_poll.py --baseline # the minimal loop
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drivers.modbus_profile import Profile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


DEVICES = range(1, 11)
FIELDS = 20


def bench_profile() -> Profile:
    """20 float32 at input registers 0, 2, ..., 38 (not canonical quantities: a benchmark profile)."""
    from drivers.modbus_profile import FieldSpec, Profile

    fields = tuple(
        FieldSpec(f"value_{i:02d}", "input", 2 * i, "float32", "big", Fraction(1), "W", frozenset())
        for i in range(FIELDS)
    )
    return Profile("bench-20f", "20 float32 values", "benchmark workload of issue 2", "zero-based", fields)


# ---- the server process ------------------------------------------------------------------------------
async def serve(port: int) -> None:
    from drivers.sim.meters import SimMeter, SimulatedMeters

    profile = bench_profile()
    meters = [SimMeter(unit, profile) for unit in DEVICES]
    async with SimulatedMeters(meters, port=port) as sim:
        step = 0
        while True:  # values change every second, like a real meter's
            for unit in DEVICES:
                sim.set_values(
                    unit, {f.name: 100.0 * unit + i + 0.01 * (step % 100) for i, f in enumerate(profile.fields)}
                )
            step += 1
            await asyncio.sleep(1.0)


# ---- measuring this process ---------------------------------------------------------------------------
def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _thread_ticks() -> dict[str, int]:
    ticks = {}
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks[tid] = int(fields[11]) + int(fields[12])
    return ticks


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(warmup: float, duration: float, count: Callable[[], float]) -> dict[str, float]:
    await asyncio.sleep(warmup)
    threads0 = _thread_ticks()
    cpu0, t0, n0 = cpu_s(), time.monotonic(), count()
    peak = rss_mb()
    end = t0 + duration
    while time.monotonic() < end:
        await asyncio.sleep(1.0)
        peak = max(peak, rss_mb())
    cpu1, t1, n1 = cpu_s(), time.monotonic(), count()
    # CPU per thread, to see where the time goes (printed by the orchestrator)
    names = {str(t.native_id): t.name for t in threading.enumerate()}
    for tid, ticks in sorted(_thread_ticks().items()):
        used = 100 * (ticks - threads0.get(tid, 0)) / os.sysconf("SC_CLK_TCK") / (t1 - t0)
        print(f"thread {names.get(tid, tid)}: {used:.2f} %", file=sys.stderr)
    return {
        "cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0),
        "rss_mb": rss_mb(),
        "rss_peak_mb": peak,
        "points_per_s": (n1 - n0) / (t1 - t0),
    }


# ---- the gateway ---------------------------------------------------------------------------------------
async def run_gateway(port: int, state_dir: Path, influx_port: int, args: argparse.Namespace) -> dict[str, float]:
    from drivers.modbus_bus import BusPoller, BusSpec, DeviceSpec
    from drivers.modbus_link import TcpLink
    from gateway.config import parse_config
    from gateway.daemon import Daemon, RunOptions
    from gateway.services.modbus import CoreReporter, ModbusBusService
    from tests.support.workloads import w1_config

    text = w1_config(
        influx_port=influx_port, web_port=_free_port(), state_dir=state_dir, journal="commit_interval_s = 1.0"
    )
    config = parse_config(text, file="bench.toml", base_dir=state_dir)
    daemon = Daemon(config, RunOptions())
    core = daemon.build()
    # the workload's 20-float meters are not a shipped profile: build their bus here, as the service would
    profile = bench_profile()
    devices = tuple(
        DeviceSpec(f"meter-{u:02d}", u, profile, 1.0, core.tags(device=f"meter-{u:02d}", building="mairie"))
        for u in DEVICES
    )
    spec = BusSpec("bench", TcpLink("127.0.0.1", port), devices, timeout_s=1.0)
    if not args.idle:
        daemon.add_service(ModbusBusService(BusPoller(spec, CoreReporter(core), wall_ns=core.clock.time_ns)))
    task = asyncio.create_task(daemon.run())
    await daemon.started.wait()
    figures = await measure(
        args.warmup, args.measure, lambda: core.metrics.get("gateway_points_total", measurement="meter")
    )
    daemon.stop()
    await task
    figures["services"] = ", ".join(s.name for s in daemon.services)  # type: ignore[assignment]
    return figures


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---- the baseline: a minimal pymodbus loop -------------------------------------------------------------
async def run_baseline(port: int, out: Path, args: argparse.Namespace) -> dict[str, float]:
    from pymodbus.client import AsyncModbusTcpClient

    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1.0)
    await client.connect()
    written = 0

    async def loop() -> None:
        nonlocal written
        with out.open("a") as sink:
            while True:
                start = time.monotonic()
                for unit in DEVICES:
                    rr = await client.read_input_registers(0, count=2 * FIELDS, device_id=unit)
                    values = client.convert_from_registers(rr.registers, client.DATATYPE.FLOAT32)
                    fields = ",".join(f"value_{i:02d}={v}" for i, v in enumerate(values))  # type: ignore[arg-type]
                    sink.write(f"meter,device=meter-{unit:02d} {fields} {time.time_ns()}\n")
                    written += 1
                sink.flush()
                await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - start)))

    task = asyncio.create_task(loop())
    figures = await measure(args.warmup, args.measure, lambda: written)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    client.close()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs=3, metavar=("PORT", "INFLUX_PORT", "STATE_DIR"), help=argparse.SUPPRESS)
    parser.add_argument("--baseline", action="store_true", help="measure the minimal pymodbus loop instead")
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--measure", type=float, default=60.0)
    parser.add_argument("--idle", action="store_true", help="the same daemon without the Modbus bus (reference)")
    args = parser.parse_args()
    import logging

    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    if args.serve:
        asyncio.run(serve(args.serve))
        return 0
    if args.child:  # the measured process: imports only what the gateway (or the baseline) needs
        port, influx_port, state = int(args.child[0]), int(args.child[1]), Path(args.child[2])
        if args.baseline:
            figures = asyncio.run(run_baseline(port, state / "points.lp", args))
        else:
            figures = asyncio.run(run_gateway(port, state, influx_port, args))
        print("FIGURES " + json.dumps(figures), flush=True)
        return 0
    return orchestrate(args)


def orchestrate(args: argparse.Namespace) -> int:
    """Server process, influxd, then the measured child process; print its figures."""
    from tests.support.influx_servers import start_influxd
    from tests.support.procs import free_port, running

    port = free_port()
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-modbus-")))
        stack.enter_context(
            running([sys.executable, __file__, "--serve", str(port)], port=port, log=tmp / "server.log")
        )
        influx_port = 0
        if not args.baseline:
            influx = stack.enter_context(start_influxd(tmp / "influxd"))
            influx_port = influx.port
        state = tmp / "state"
        state.mkdir()
        argv = [sys.executable, __file__, "--child", str(port), str(influx_port), str(state),
                "--warmup", str(args.warmup), "--measure", str(args.measure)]  # fmt: skip
        argv += ["--baseline"] * args.baseline + ["--idle"] * args.idle
        out = subprocess.run(
            argv, capture_output=True, text=True, check=False, timeout=args.warmup + args.measure + 120
        )
        line = next((x for x in out.stdout.splitlines() if x.startswith("FIGURES ")), None)
        if line is None:
            print(out.stdout, out.stderr, file=sys.stderr)
            return 1
        figures = json.loads(line.removeprefix("FIGURES "))
        threads = [x for x in out.stderr.splitlines() if x.startswith("thread ")]
        if not args.baseline:
            time.sleep(2.0)  # the sink's last flush
            figures["influx_points"] = _influx_count(influx_port)
    label = "village-gateway daemon (journal + influx-v1 sink)"
    if args.baseline:
        label = "minimal pymodbus loop -> line-protocol file"
    elif args.idle:
        label = "village-gateway daemon WITHOUT the Modbus bus (idle reference)"
    print(f"{label}: 10 devices x 20 float32, polled every 1 s; {args.measure:.0f} s after {args.warmup:.0f} s warm-up")
    print(f"  CPU            {figures['cpu_pct']:.2f} % of one core")
    print(f"  RSS            {figures['rss_mb']:.1f} MB (peak {figures['rss_peak_mb']:.1f} MB)")
    print(f"  readings/s     {figures['points_per_s']:.2f} (each {FIELDS} fields)")
    for key in ("services", "journal_rows", "influx_points"):
        if key in figures:
            print(f"  {key:<14} {figures[key]}")
    for line in threads:
        print(f"  {line}")
    print(f"  python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load avg {os.getloadavg()[0]:.2f}")
    return 0


def _influx_count(port: int) -> int:
    import json
    import urllib.parse
    import urllib.request

    query = urllib.parse.urlencode({"db": "village", "q": 'SELECT count("value_00") FROM "meter"'})
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/query?{query}", timeout=10) as resp:
        body = json.load(resp)
    series = body["results"][0].get("series")
    return int(series[0]["values"][0][1]) if series else 0


if __name__ == "__main__":
    sys.exit(main())
