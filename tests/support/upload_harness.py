"""An in-process gateway for upload tests: real configuration, real journal, real sinks.

No drivers: the test publishes :class:`~gateway.model.Reading` values itself (with their own
timestamps, so a week can be fed in seconds) and compares what the real server stores with
:func:`expected_points`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from gateway.clock import SystemClock
from gateway.config import GatewayConfig, parse_config
from gateway.core import Core
from gateway.metrics import Metrics
from gateway.model import Reading
from tests.support.influx_servers import Point

#: 2026-01-05 00:00 UTC, a Monday.
T0_NS = 1_767_571_200 * 1_000_000_000


def influx_v1_sink(name: str, url: str, **options: Any) -> str:
    """A ``[sinks.NAME]`` table of kind influx-v1 (database ``village``) with fast test timings."""
    return _sink(name, {"kind": "influx-v1", "url": url, "database": "village", **options})


def influx_v2_sink(name: str, url: str, **options: Any) -> str:
    """A ``[sinks.NAME]`` table of kind influx-v2 with fast test timings."""
    return _sink(name, {"kind": "influx-v2", "url": url, "org": "village", "bucket": "village", **options})


def _sink(name: str, values: dict[str, Any]) -> str:
    values = {
        "flush_interval_s": 0.1,
        "min_backoff_s": 0.05,
        "max_backoff_s": 1.0,
        "timeout_s": 5.0,
        **values,
    }
    lines = [f"[sinks.{name}]"]
    for key, value in values.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, int | float):
            lines.append(f"{key} = {value}")
        else:
            lines.append(f'{key} = "{value}"')
    return "\n".join(lines) + "\n"


def gateway_config(
    state_dir: Path,
    *sinks: str,
    site: str = "saint-martin",
    commit_interval_s: float = 0.1,
    budget_mb: float = 256,
) -> GatewayConfig:
    """A minimal valid configuration: one site, the journal in ``state_dir``, the given sinks."""
    state_dir.mkdir(parents=True, exist_ok=True)
    text = f"""
[site]
id = "{site}"
name = "Test village {site}"
latitude = 47.39
longitude = 0.98

[journal]
commit_interval_s = {commit_interval_s}
budget_mb = {budget_mb}

[service]
state_dir = "{state_dir}"

{"".join(sinks)}
"""
    return parse_config(text, file="test.toml", base_dir=state_dir)


class MiniGateway:
    """Journal + core + InfluxDB sinks of one configuration, running in the current loop.

    Example::

        async with MiniGateway(config) as gw:
            gw.publish_all(readings)
            await gw.wait_delivered("remote")
    """

    def __init__(self, config: GatewayConfig) -> None:
        from gateway.journal import open_journal
        from gateway.sinks.influx import build_influx_sinks

        self.config = config
        self.metrics = Metrics()
        self.clock = SystemClock()
        self.journal = open_journal(config, metrics=self.metrics, clock=self.clock)
        self.core = Core(config=config, clock=self.clock, journal=self.journal, metrics=self.metrics)
        self.sinks = {s.sink: s for s in build_influx_sinks(config, self.core, self.journal)}
        self._tasks: list[asyncio.Task[None]] = []
        self._sink_tasks: dict[str, asyncio.Task[None]] = {}

    async def __aenter__(self) -> MiniGateway:
        for sink in self.sinks.values():
            sink.prepare()
        self._tasks.append(asyncio.create_task(self.journal.run(), name="journal"))
        for name in self.sinks:
            self.start_sink(name)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """Stop like the daemon: the journal commits, then the sinks get their last flush."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for name in list(self._sink_tasks):
            await self.stop_sink(name)
        self.journal.close()

    def start_sink(self, name: str) -> None:
        self._sink_tasks[name] = asyncio.create_task(self.sinks[name].run(), name=f"sink:{name}")

    async def stop_sink(self, name: str) -> None:
        task = self._sink_tasks.pop(name)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def publish_all(self, readings: Iterable[Reading]) -> int:
        n = 0
        for reading in readings:
            self.core.publish(reading)
            n += 1
        return n

    async def backlog(self, sink: str) -> int:
        """Committed rows the sink has not delivered yet (capped at 1000: a yes/no and a hint)."""
        return len(await self.journal.fetch(sink, limit=1000, max_bytes=10_000_000))

    async def wait_delivered(self, sink: str, *, within: float = 60.0) -> float:
        """Commit, then wait until ``sink`` has nothing left; return the seconds it took."""
        started = time.monotonic()
        self.journal.commit()
        while self.journal.stats().sinks[sink].backlog:  # cheap: no SQLite access
            if time.monotonic() - started > within:
                raise TimeoutError(f"sink {sink} still has a backlog after {within}s")
            await asyncio.sleep(0.05)
        return time.monotonic() - started


def meter_readings(
    *, site: str, devices: int, count: int, start_ns: int = T0_NS, step_s: float = 1.0, first_seq: int = 0
) -> Iterator[Reading]:
    """``count`` rounds of one reading per device (``power_w`` float, ``seq`` int), ``step_s`` apart."""
    step_ns = int(step_s * 1e9)
    for i in range(count):
        t = start_ns + i * step_ns
        for d in range(devices):
            seq = first_seq + i * devices + d
            yield Reading.make(
                "meter",
                {"site": site, "building": "mairie", "zone": "bureaux", "device": f"meter-{d}"},
                {"power_w": round(100.0 + (seq % 997) * 0.25, 2), "seq": seq},
                time_ns=t,
            )


#: The demo village's load (examples/village.toml): meters at their poll intervals, thermometers.
DEMO_DEVICES: tuple[tuple[str, str, str, int], ...] = (
    ("meter", "mairie", "mairie-general", 10),
    ("meter", "ecole", "ecole-general", 10),
    ("meter", "salle", "salle-general", 10),
    ("meter", "eglise", "eglise-general", 30),
    ("meter", "mairie", "mairie-eau", 60),
    ("climate", "mairie", "mairie-t1", 60),
    ("climate", "ecole", "ecole-t1", 60),
    ("climate", "salle", "salle-t1", 60),
    ("climate", "eglise", "eglise-t1", 60),
)


def demo_readings(
    *, site: str, seconds: int, start_ns: int = T0_NS, devices: tuple[tuple[str, str, str, int], ...] = DEMO_DEVICES
) -> Iterator[Reading]:
    """``seconds`` of the demo village's readings, in time order, with their own timestamps."""
    for t in range(0, seconds, 10):
        time_ns = start_ns + t * 1_000_000_000
        for family, building, device, interval in devices:
            if t % interval:
                continue
            tags = {"site": site, "building": building, "device": device}
            if family == "meter":
                fields: dict[str, float | int] = {
                    "power_w": round(500 + (t % 3600) / 7.0, 2),
                    "energy_import_kwh": round(t / 3600 * 0.5, 3),
                    "seq": t,
                }
            else:
                fields = {"temperature_c": round(18 + (t % 86400) / 86400 * 3, 2), "humidity_pct": 50.0 + t % 7}
            yield Reading.make(family, tags, fields, time_ns=time_ns)


def rss_mb() -> float:
    """This process's resident memory now, in MB (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 1e6


def expected_points(readings: Iterable[Reading], *, ms: bool = False) -> set[Point]:
    """What a server should hold for ``readings`` (``ms``: VictoriaMetrics' millisecond times)."""
    out: set[Point] = set()
    for r in readings:
        t = (r.time_ns // 1_000_000) * 1_000_000 if ms else r.time_ns
        for name, value in r.fields:
            out.add(Point(f"{r.measurement}_{name}", r.tags, t, value))
    return out
