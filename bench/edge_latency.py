"""Input edge (mock pin) -> relay output latency, under the demo's load.

Runs the real daemon on ``examples/village.toml`` in demo mode (simulated Modbus meters on a free
port, simulated BLE thermometers, the thermal plant, the journal, the admin page) plus one bench
lighting circuit: a presence detector ``bench-pir`` (BCM 27) lighting ``bench-light`` (BCM 26).
The clock is a ManualClock held inside the night (01:00 local, inside the night cut), so
presence lights the circuit and, with no hold, its end puts it out again; the load (meter polls,
BLE adverts, plant steps, journal commits, the rules on every reading) runs in real time.

Each sample: a thread standing in for gpiozero's callback thread drives the PIR pin high
(``MockPin.drive_high``, which calls the input callback in that thread, as the real edge thread
does), and the time is taken when the relay's ``relay`` reading is published in the loop, right
after the output pin was driven. Prints p50/p90/p99/max in milliseconds.

    .venv/bin/python bench/edge_latency.py [--samples 300]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from gpiozero.pins.mock import MockFactory

from gateway.clock import ManualClock
from gateway.config import parse_config
from gateway.daemon import Daemon, RunOptions
from gateway.hooks import Hooks
from gateway.model import Reading

ROOT = Path(__file__).resolve().parents[1]
BENCH_SECTION = """
[gpio.relays.bench-light]
pin = 26
[gpio.inputs.bench-pir]
pin = 27
kind = "motion"
[lighting.circuits.bench]
name = "Banc"
relay = "bench-light"
presence = ["bench-pir"]
presence_hold_min = 0
presence_in_night_cut = true
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 20.0
    while time.monotonic() < deadline:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
        else:
            writer.close()
            return
    raise TimeoutError(f"the simulated meters do not listen on {port}")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def main(samples: int) -> dict[str, float]:
    from drivers.sim.meters import serve_simulated_meters

    tmp = Path(tempfile.mkdtemp(prefix="edge-bench-"))
    modbus_port = free_port()
    text = (
        (ROOT / "examples/village.toml")
        .read_text(encoding="utf-8")
        .replace("port = 15502", f"port = {modbus_port}")
    )
    config = parse_config(text + BENCH_SECTION, base_dir=tmp / "cfg")
    clock = ManualClock(datetime(2026, 11, 29, 1, 0, tzinfo=ZoneInfo("Europe/Paris")))
    factory = MockFactory()
    options = RunOptions(
        demo=True,
        clock=clock,
        pin_factory=factory,
        http=f"127.0.0.1:{free_port()}",
        hooks=Hooks(plant_period_s=2.0, sim_ble_interval_s=1.0, control_startup_grace_s=0.0),
    )
    meters = [
        asyncio.create_task(serve_simulated_meters(bus, port=modbus_port)) for bus in config.buses.values()
    ]
    await wait_for_port(modbus_port)
    daemon = Daemon(config, options)
    daemon.build()
    relay_at: list[float] = []
    lit = asyncio.Event()

    def on_reading(reading: Reading) -> None:
        if (
            reading.measurement == "relay"
            and reading.tag("device") == "bench-light"
            and reading.field_map()["on"]
        ):
            relay_at.append(time.perf_counter())
            lit.set()

    assert daemon.core is not None
    daemon.core.on_reading(on_reading)
    run = asyncio.create_task(daemon.run())
    await asyncio.wait_for(daemon.started.wait(), 20)
    await asyncio.sleep(3)  # let the demo's load start: meters polled, BLE adverts, plant steps
    pir = factory.pin(27)
    latencies: list[float] = []
    began = time.perf_counter()
    for _ in range(samples):
        lit.clear()
        start = [0.0]

        def edge(t: list[float] = start) -> None:
            t[0] = time.perf_counter()
            pir.drive_high()

        thread = threading.Thread(target=edge, name="gpio-edge")
        thread.start()
        await asyncio.wait_for(lit.wait(), 5)
        thread.join()
        latencies.append((relay_at[-1] - start[0]) * 1000)
        pir.drive_low()
        await asyncio.sleep(0.01 + 0.02 * (_ % 3))  # edges at irregular moments of the load
        if factory.pin(26).state:
            raise RuntimeError("the bench light did not go off when presence ended")
    elapsed = time.perf_counter() - began
    points = sum(v for name, _k, _h, _l, v in daemon.metrics.items() if name == "gateway_points_total")
    evaluations = daemon.metrics.get("gateway_rules_evaluations_total")
    daemon.stop()
    await asyncio.wait_for(run, 20)
    for task in meters:
        task.cancel()
    await asyncio.gather(*meters, return_exceptions=True)
    return {
        "samples": float(len(latencies)),
        "p50_ms": statistics.median(latencies),
        "p90_ms": percentile(latencies, 90),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies),
        "seconds": elapsed,
        "points": points,
        "evaluations": evaluations,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    result = asyncio.run(main(args.samples))
    print(
        f"edge -> relay latency over {int(result['samples'])} edges under the demo's load: "
        f"p50 {result['p50_ms']:.2f} ms, p90 {result['p90_ms']:.2f} ms, "
        f"p99 {result['p99_ms']:.2f} ms, max {result['max_ms']:.2f} ms"
    )
    print(
        f"load meanwhile: {result['points']:.0f} points journaled and {result['evaluations']:.0f} rules "
        f"evaluations in {result['seconds']:.1f} s"
    )
