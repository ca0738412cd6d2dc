"""Real InfluxDB 1.6 (``influxd``) and VictoriaMetrics servers on 127.0.0.1, and read-back helpers.

Each server runs on a free port with its data in a temporary directory and is killed at the
end. Points are read back through the server's own query API (InfluxQL ``/query`` for 1.6,
``/api/v1/export`` for VictoriaMetrics) into one comparable shape, :class:`Point`:
``(name, tags, time, value)`` with ``name = "<measurement>_<field>"`` (VictoriaMetrics'
naming) so the same assertion works against both servers.

Fixtures: ``influxd_v1`` (database ``village`` created) and ``victoria``. Benchmarks use the
context managers :func:`start_influxd` and :func:`start_victoria` directly.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.support.procs import free_port, require_tool, running


class Point(NamedTuple):
    """One stored value: series name, sorted tags, time (ns for influxd, ms*1e6 for VM), value."""

    name: str
    tags: tuple[tuple[str, str], ...]
    time_ns: int
    value: float | int | bool | str


def _http(method: str, url: str, body: bytes | None = None, timeout: float = 30.0) -> bytes:
    req = urllib.request.Request(url, data=body, method=method)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return bytes(resp.read())


@dataclass
class InfluxV1Server:
    """A running ``influxd`` 1.6."""

    port: int
    data_dir: Path
    database: str = "village"
    auth: tuple[str, str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def query(self, q: str, *, db: str | None = None) -> dict[str, Any]:
        """Run InfluxQL; return the decoded JSON answer (epoch=ns)."""
        params = {"q": q, "epoch": "ns"}
        if self.auth:
            params.update(u=self.auth[0], p=self.auth[1])
        if db:
            params["db"] = db
        out = _http("POST", f"{self.url}/query?{urllib.parse.urlencode(params)}")
        answer: dict[str, Any] = json.loads(out)
        for result in answer.get("results", []):
            if "error" in result:
                raise RuntimeError(f"InfluxQL error: {result['error']}")
        return answer

    def create_database(self, name: str) -> None:
        self.query(f'CREATE DATABASE "{name}"')

    def write(self, lines: bytes, *, db: str | None = None) -> None:
        """Write line protocol directly (the raw client used as a reference)."""
        _http("POST", f"{self.url}/write?db={db or self.database}&precision=ns", lines)

    def points(self, *, db: str | None = None) -> list[Point]:
        """Every stored value of every measurement, one :class:`Point` per field value."""
        db = db or self.database
        measurements = self.query("SHOW MEASUREMENTS", db=db)["results"][0].get("series", [])
        names = [row[0] for s in measurements for row in s["values"]]
        out: list[Point] = []
        for m in names:
            # LIMIT-less SELECT with GROUP BY * returns one series per tag set.
            answer = self.query(f'SELECT * FROM "{m}" GROUP BY *', db=db)
            for series in answer["results"][0].get("series", []):
                tags = tuple(sorted((k, v) for k, v in (series.get("tags") or {}).items() if v))
                cols = series["columns"]
                for row in series["values"]:
                    t = int(row[0])
                    for col, val in zip(cols[1:], row[1:], strict=True):
                        if val is not None:
                            out.append(Point(f"{m}_{col}", tags, t, val))
        return out

    def count(self, measurement: str, field: str, *, db: str | None = None) -> int:
        answer = self.query(f'SELECT count("{field}") FROM "{measurement}"', db=db or self.database)
        series = answer["results"][0].get("series")
        return int(series[0]["values"][0][1]) if series else 0


@dataclass
class VictoriaServer:
    """A running ``victoria-metrics`` (accepts the InfluxDB v2 write API)."""

    port: int
    data_dir: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def flush(self) -> None:
        """Make recently written points searchable now."""
        _http("GET", f"{self.url}/internal/force_flush")

    def write(self, lines: bytes) -> None:
        """Write line protocol directly (v2 endpoint, no client library)."""
        _http("POST", f"{self.url}/api/v2/write?org=o&bucket=b&precision=ns", lines)

    def export(self, match: str = '{__name__=~".+"}') -> Iterator[dict[str, Any]]:
        """Raw ``/api/v1/export`` JSON lines."""
        self.flush()
        query = urllib.parse.urlencode({"match[]": match, "start": "0"})
        body = _http("GET", f"{self.url}/api/v1/export?{query}", timeout=120)
        for line in body.splitlines():
            if line.strip():
                yield json.loads(line)

    def points(self, match: str = '{__name__=~".+"}') -> list[Point]:
        """Every stored value (VictoriaMetrics keeps milliseconds: ``time_ns`` is ms * 1e6)."""
        out: list[Point] = []
        for item in self.export(match):
            metric = dict(item["metric"])
            name = metric.pop("__name__")
            tags = tuple(sorted(metric.items()))
            for value, ts in zip(item["values"], item["timestamps"], strict=True):
                out.append(Point(name, tags, int(ts) * 1_000_000, value))
        return out

    def settled_points(self, *, timeout: float = 30.0) -> list[Point]:
        """Read back until two reads 1.2 s apart agree (when the exact count is not known)."""
        deadline = time.monotonic() + timeout
        previous = self.points()
        while time.monotonic() < deadline:
            time.sleep(1.2)
            current = self.points()
            if len(current) == len(previous) and current:
                return current
            previous = current
        return previous

    def series_count(self) -> int:
        return sum(1 for _ in self.export())

    def wait_points(self, expected: int, *, timeout: float = 30.0, match: str = '{__name__=~".+"}') -> list[Point]:
        """Read back until ``expected`` values are searchable (VM makes inserts visible ~1 s later)."""
        deadline = time.monotonic() + timeout
        while True:
            points = self.points(match)
            if len(points) >= expected or time.monotonic() > deadline:
                return points
            time.sleep(0.3)


def _influxd_config(root: Path, http_port: int, rpc_port: int, *, auth: bool = False) -> Path:
    conf = root / "influxd.conf"
    conf.write_text(
        f"""reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{root}/meta"
[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false
  cache-max-memory-size = "256m"
[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  log-enabled = false
  max-body-size = 0
  auth-enabled = {"true" if auth else "false"}
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
[subscriber]
  enabled = false
[logging]
  level = "warn"
"""
    )
    return conf


@contextlib.contextmanager
def start_influxd(
    root: Path, *, database: str = "village", port: int | None = None, admin: tuple[str, str] | None = None
) -> Iterator[InfluxV1Server]:
    """Run ``influxd`` 1.6 in ``root`` until the block ends (``port`` to restart on the same one).

    With ``admin=(user, password)`` authentication is on and that admin user exists; the
    helpers then authenticate as it.
    """
    binary = require_tool("influxd")
    root.mkdir(parents=True, exist_ok=True)
    port, rpc = port or free_port(), free_port()
    conf = _influxd_config(root, port, rpc, auth=admin is not None)
    with running([binary, "-config", str(conf)], port=port, log=root / "influxd.log", timeout=30):
        server = InfluxV1Server(port, root)
        deadline = time.monotonic() + 30
        while True:  # the port opens slightly before /query answers
            try:
                if admin is not None:  # allowed while no user exists; then every call authenticates
                    server.query(f"CREATE USER \"{admin[0]}\" WITH PASSWORD '{admin[1]}' WITH ALL PRIVILEGES")
                    server.auth = admin
                server.create_database(database)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        server.database = database
        yield server


@contextlib.contextmanager
def start_victoria(root: Path, *, port: int | None = None) -> Iterator[VictoriaServer]:
    """Run ``victoria-metrics`` in ``root`` until the block ends (``port`` to restart on the same one)."""
    binary = require_tool("victoria-metrics")
    root.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    argv = [
        binary,
        f"-storageDataPath={root}/data",
        f"-httpListenAddr=127.0.0.1:{port}",
        "-retentionPeriod=100y",
        "-search.latencyOffset=0s",
        "-loggerLevel=ERROR",
        "-search.disableCache",
        # Same series + same timestamp = one point, as in InfluxDB (a resend overwrites).
        "-dedup.minScrapeInterval=1ms",
    ]
    with running(argv, port=port, log=root / "victoria.log", timeout=30):
        yield VictoriaServer(port, root)


@pytest.fixture
def influxd_v1(tmp_path: Path) -> Iterator[InfluxV1Server]:
    """A fresh ``influxd`` 1.6 with database ``village``."""
    with start_influxd(tmp_path / "influxd") as server:
        yield server


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[VictoriaServer]:
    """A fresh ``victoria-metrics``."""
    with start_victoria(tmp_path / "victoria") as server:
        yield server


def as_set(points: Iterable[Point]) -> set[Point]:
    """Points as a set, failing loudly on duplicates (same series, field and time twice)."""
    seen: set[Point] = set()
    keys: set[tuple[str, tuple[tuple[str, str], ...], int]] = set()
    for p in points:
        key = (p.name, p.tags, p.time_ns)
        if key in keys:
            raise AssertionError(f"duplicate point {key}")
        keys.add(key)
        seen.add(p)
    return seen
