"""MQTT sink benchmark: draining a backlog after a broker outage, against a real mosquitto.

Usage::

    PYTHONPATH=. .venv/bin/python bench/mqtt_drain.py                    # 100 devices x 500 readings
    PYTHONPATH=. .venv/bin/python bench/mqtt_drain.py --devices 20 --per-device 5000

Fills the journal with readings while no broker listens (what an outage leaves behind), starts
mosquitto, and times the sink from connection to an empty backlog. Prints journal rows/s
drained, MQTT messages published (coalesced to the newest value per topic per batch) and, for
comparison, the live publish rate with one message per row (batch_size=1).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from gateway.clock import SystemClock
from gateway.config import parse_config
from gateway.core import Core
from gateway.journal import Journal
from gateway.metrics import Metrics
from gateway.model import Reading
from gateway.sinks.mqtt import MqttSink
from tests.support.mosquitto import Broker

CONFIG = """
[site]
id = "bench"
name = "Bench"
latitude = 47.0
longitude = 1.0
[buildings.mairie]
name = "Mairie"
[sinks.mqtt]
kind = "mqtt"
host = "127.0.0.1"
port = {port}
batch_size = {batch}
"""


async def drain(devices: int, per_device: int, batch: int, directory: Path) -> tuple[int, float, float]:
    broker = Broker(directory / f"mq-{batch}")
    broker.directory.mkdir()
    config = parse_config(CONFIG.format(port=broker.port, batch=batch))
    metrics = Metrics()
    clock = SystemClock()
    journal = Journal(directory / f"journal-{batch}.sqlite", sinks=["mqtt"], metrics=metrics, clock=clock)
    core = Core(config=config, clock=clock, journal=journal, metrics=metrics)
    t0 = clock.time_ns() - devices * per_device * 1_000_000
    for i in range(per_device):
        for d in range(devices):
            core.publish(
                Reading.make(
                    "meter",
                    core.tags(device=f"m{d}", building="mairie"),
                    {"power_w": float(i), "energy_import_kwh": i / 10},
                    time_ns=t0 + (i * devices + d) * 1_000_000,
                )
            )
        if i % 50 == 0:
            journal.commit()
    journal.commit()
    rows = devices * per_device
    sink = MqttSink("mqtt", config.sinks["mqtt"], core=core, journal=journal)  # type: ignore[arg-type]
    sink.prepare()
    broker.start()
    start = time.perf_counter()
    task = asyncio.create_task(sink.run())
    while metrics.get("gateway_mqtt_rows_total", sink="mqtt") < rows:  # noqa: ASYNC110 - polling a counter
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - start
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    broker.stop()
    journal.close()
    return int(metrics.get("gateway_mqtt_messages_total", sink="mqtt", kind="state")), elapsed, rows / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--per-device", type=int, default=500)
    args = parser.parse_args()
    rows = args.devices * args.per_device
    with tempfile.TemporaryDirectory() as tmp:
        messages, elapsed, rate = asyncio.run(drain(args.devices, args.per_device, 2000, Path(tmp)))
        print(
            f"backlog of {rows} rows ({args.devices} meters x {args.per_device}): drained in {elapsed:.2f} s "
            f"({rate:,.0f} rows/s), {messages} retained messages published (coalesced per 2000-row batch)"
        )
        small = min(rows, 5000)
        per = max(1, small // args.devices)
        messages, elapsed, rate = asyncio.run(drain(args.devices, per, 1, Path(tmp)))
        print(
            f"no coalescing (batch_size=1), {args.devices * per} rows: {elapsed:.2f} s ({rate:,.0f} rows/s, "
            f"{messages / elapsed:,.0f} QoS-1 messages/s)"
        )


if __name__ == "__main__":
    main()
