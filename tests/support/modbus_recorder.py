"""A recorder at the bus poller's boundary: what the driver reported, in order."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

from gateway.model import Reading, Unavailable


class Recorder:
    """Implements :class:`drivers.modbus_bus.Reporter` by keeping everything."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.unavailable_reports: list[Unavailable] = []
        self.counts: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
        self.stamps: list[tuple[float, str]] = []  # (monotonic time, device) of each reading

    def reading(self, reading: Reading) -> None:
        self.readings.append(reading)
        self.stamps.append((time.monotonic(), reading.tag("device") or ""))

    def unavailable(self, status: Unavailable) -> None:
        self.unavailable_reports.append(status)

    def count(self, name: str, **labels: str) -> None:
        self.counts[(name, tuple(sorted(labels.items())))] += 1

    def of(self, device: str) -> list[Reading]:
        return [r for r in self.readings if r.tag("device") == device]

    def between(self, device: str, start: float, end: float) -> int:
        return sum(1 for t, d in self.stamps if d == device and start <= t < end)

    def errors(self, device: str) -> int:
        return self.counts[("gateway_device_errors_total", (("device", device),))]


async def wait_until(condition: Callable[[], bool], *, within: float = 10.0, what: str = "condition") -> None:
    """Poll ``condition`` every 20 ms; fail the test if it is not true within ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def run_until(
    run: Callable[[], Coroutine[Any, Any, object]], condition: Callable[[], bool], *, within: float = 10.0
) -> None:
    """Run a service's ``run`` as a task until ``condition`` holds (see :func:`wait_until`), then cancel it."""
    task = asyncio.create_task(run())
    try:
        await wait_until(condition, within=within)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
