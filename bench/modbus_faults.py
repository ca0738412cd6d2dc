"""Benchmark: good meters' cadence while their neighbours on the same bus misbehave.

Workload (issue 12, item 8): one Modbus TCP bus (a real pymodbus server behind the fault-injecting
proxy of ``tests/support/modbus_faults.py``, both in their own thread and event loop) with nine
SDM120 meters polled every ``--interval`` seconds, timeout ``--timeout``, in configuration order:

====  ===================================================================
unit  behaviour
====  ===================================================================
1     good
2     resets the connection at every request
3     good
4     answers garbled frames (every byte XOR 0xA5)
5     good
6     answers 1.5 × timeout late
7     good
8     answers half a frame, then nothing
9     fails one poll in three (a late reply), answers the other two
====  ===================================================================

It prints, for the good meters, the share of expected samples received and the share of
consecutive readings spaced within the interval ± 5 % and ± 10 %, the largest gap, and the
polls that came less than half an interval after the previous one (bursts). The faults start
with the first poll (``--faults-after`` delays them, to measure a meter turning bad mid-run).

Usage::

    .venv/bin/python bench/modbus_faults.py                 # 300 s, interval 1 s, timeout 1 s
    .venv/bin/python bench/modbus_faults.py --duration 60 --max-backoff 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GOOD = (1, 3, 5, 7)
FAULTS = {2: ("reset",), 4: ("garble",), 6: ("late:{late}",), 8: ("truncate",), 9: ("pass", "pass", "late:{late}")}


class ServerThread:
    """The simulated meters and the proxy, in their own thread and event loop."""

    def __init__(self, plan: object) -> None:
        self.plan = plan
        self.ready = threading.Event()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="meters", daemon=True)

    def _run(self) -> None:
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        from drivers.modbus_profile import load_profile
        from drivers.sim.meters import SimMeter, SimulatedMeters
        from tests.support.modbus_faults import FaultyModbusProxy
        from tests.support.procs import free_port

        sdm120 = load_profile("sdm120")
        self._stop = asyncio.Event()
        meters = [SimMeter(unit, sdm120) for unit in range(1, 10)]
        async with (
            SimulatedMeters(meters, port=free_port()) as sim,
            FaultyModbusProxy(upstream_port=sim.port, plan=self.plan) as proxy,  # type: ignore[arg-type]
        ):
            self.port = proxy.port
            self.ready.set()
            await self._stop.wait()

    def __enter__(self) -> ServerThread:
        self._thread.start()
        if not self.ready.wait(20):
            raise RuntimeError("the simulated meters did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def cadence(stamps: list[float], start: float, end: float, interval: float) -> dict[str, float]:
    """Sample share, spacing shares and worst gap of one meter's reading times."""
    inside = [t for t in stamps if start <= t < end]
    gaps = [b - a for a, b in itertools.pairwise(inside)]
    expected = (end - start) / interval
    return {
        "samples_pct": 100.0 * len(inside) / expected,
        "within_5pct": 100.0 * sum(abs(g - interval) <= 0.05 * interval for g in gaps) / max(len(gaps), 1),
        "within_10pct": 100.0 * sum(abs(g - interval) <= 0.10 * interval for g in gaps) / max(len(gaps), 1),
        "max_gap_s": max(gaps, default=0.0),
        "bursts": sum(g < 0.5 * interval for g in gaps),
    }


async def measure(args: argparse.Namespace) -> None:
    from drivers.modbus_bus import BusPoller, BusSpec, DeviceSpec
    from drivers.modbus_link import TcpLink
    from drivers.modbus_profile import load_profile
    from tests.support.modbus_faults import FaultPlan
    from tests.support.modbus_recorder import Recorder

    plan = FaultPlan()
    sdm120 = load_profile("sdm120")
    late = f"{1.5 * args.timeout:g}"
    with ServerThread(plan) as server:
        devices = tuple(
            DeviceSpec(f"m{unit}", unit, sdm120, args.interval, {"site": "bench", "device": f"m{unit}"})
            for unit in range(1, 10)
        )
        spec = BusSpec(
            "bench", TcpLink("127.0.0.1", server.port), devices,
            timeout_s=args.timeout, max_backoff_s=args.max_backoff,
        )  # fmt: skip
        recorder = Recorder()
        poller = BusPoller(spec, recorder)
        task = asyncio.create_task(poller.run())

        def start_faults() -> None:
            for unit, actions in FAULTS.items():
                plan.set(unit, *(a.format(late=late) for a in actions))

        if args.faults_after <= 0:
            start_faults()
        start = time.monotonic()
        if args.faults_after > 0:
            await asyncio.sleep(args.faults_after)
            start_faults()
        await asyncio.sleep(args.duration)
        end = time.monotonic()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    print(
        f"interval {args.interval} s, timeout {args.timeout} s, max_backoff {args.max_backoff} s, "
        f"{args.duration:.0f} s measured, faults from t={max(args.faults_after, 0):.0f} s"
    )
    rows = {}
    for unit in GOOD:
        stamps = [t for t, d in recorder.stamps if d == f"m{unit}"]
        rows[unit] = cadence(stamps, start, end, args.interval)
        r = rows[unit]
        print(
            f"  good m{unit}: samples {r['samples_pct']:.1f} %, spacing within ±5 % {r['within_5pct']:.1f} %, "
            f"±10 % {r['within_10pct']:.1f} %, largest gap {r['max_gap_s']:.2f} s, bursts {r['bursts']:.0f}"
        )
    print(
        f"  all good meters: samples {statistics.mean(r['samples_pct'] for r in rows.values()):.1f} %, "
        f"spacing within ±10 % {statistics.mean(r['within_10pct'] for r in rows.values()):.1f} %"
    )
    for unit in FAULTS:
        print(f"  faulty m{unit}: readings {len(recorder.of(f'm{unit}'))}, failed polls {recorder.errors(f'm{unit}')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=300.0)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--max-backoff", type=float, default=10.0)
    parser.add_argument("--faults-after", type=float, default=0.0)
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
