"""``village-gateway demo``: the whole gateway on the simulated village, admin page included.

What runs is the real daemon; only the hardware is simulated: the meters are a real pymodbus
server on 127.0.0.1 (``drivers.sim.meters``), the relays and inputs are gpiozero ``MockFactory``
pins feeding a thermal model of each zone, and the BLE thermometers emit real advertisement bytes
through the same decoder as the radio. A ``demo`` admin account gets a fresh random password,
printed once. Ctrl-C stops everything cleanly.

``--history-days N`` first writes N days of simulated past into an empty hourly archive
(:mod:`gateway.demo_history`: seasonal weather, the buildings before and after the gateway), so the
Énergie page, the public page and ``village-gateway report`` show a winter against the last at once.
The simulated meters then continue from the archive's last counter values (no jump that the archive
would read as a meter reset), across restarts of the demo too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.commands._config import archive_path

if TYPE_CHECKING:
    from gateway.config import GatewayConfig
    from gateway.daemon import Daemon


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="configuration (default: the embedded simulated village)")
    parser.add_argument("--http", metavar="HOST:PORT", help="admin page address (default: [web].listen)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path("var/demo"),
        help="journal, settings and accounts (default: var/demo)",
    )
    parser.add_argument("--status-every", type=float, default=30.0, metavar="S", help="status line period")
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default="info")
    parser.add_argument(
        "--history-days",
        type=int,
        default=0,
        metavar="N",
        help="first seed an empty archive with N days of simulated history (e.g. 400: last winter and this one)",
    )


def default_config_path() -> Path:
    """The embedded simulated village shipped inside the package."""
    return Path(str(resources.files("gateway") / "data" / "village.toml"))


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _mosquitto() -> str | None:
    return shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if Path(p).exists()), None)


def prepare_config(config: GatewayConfig, state_dir: Path) -> GatewayConfig:
    """Point the state at ``state_dir``; move a simulated bus or local broker whose port is taken to a free one.

    A local MQTT sink is served by a mosquitto the demo starts; without mosquitto installed the sink is
    disabled with a note rather than left retrying.
    """
    service = config.service.model_copy(update={"state_dir": state_dir.resolve()})
    sinks: dict[str, Any] = {}
    for sink_id, sink in config.sinks.items():
        if sink.kind == "mqtt" and sink.enabled and sink.host in {"127.0.0.1", "localhost"}:
            if _mosquitto() is None:
                print(f"demo: mosquitto is not installed, MQTT sink {sink_id!r} disabled (apt install mosquitto)")
                sink = sink.model_copy(update={"enabled": False})  # noqa: PLW2901 - the replacement is the point
            elif not _port_free(sink.host, sink.port):
                port = _free_port(sink.host)
                print(f"demo: port {sink.port} is taken, the demo's MQTT broker for {sink_id!r} on port {port}")
                sink = sink.model_copy(update={"port": port})  # noqa: PLW2901
        sinks[sink_id] = sink
    buses: dict[str, Any] = {}
    for bus_id, bus in config.buses.items():
        if bus.kind == "tcp" and bus.host in {"127.0.0.1", "localhost"} and not _port_free(bus.host, bus.port):
            port = _free_port(bus.host)
            print(f"demo: port {bus.port} is taken, simulated meters of bus {bus_id!r} on port {port}")
            buses[bus_id] = bus.model_copy(update={"port": port})
        else:
            buses[bus_id] = bus
    return config.model_copy(update={"service": service, "buses": buses, "sinks": sinks})


@contextlib.contextmanager
def local_brokers(config: GatewayConfig) -> Iterator[None]:
    """Run a loopback-only mosquitto for every enabled local MQTT sink, for the demo's duration."""
    from gateway import child_process

    procs = []
    try:
        for sink_id, sink in config.sinks.items():
            if sink.kind != "mqtt" or not sink.enabled or sink.host not in {"127.0.0.1", "localhost"}:
                continue
            conf = config.service.state_dir / f"mosquitto-{sink_id}.conf"
            lines = [f"listener {sink.port} 127.0.0.1", "allow_anonymous true", "persistence false", "log_dest none"]
            if os.geteuid() == 0:
                lines.append("user root")  # as root mosquitto would switch to its own user
            conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
            mosquitto = _mosquitto()
            assert mosquitto is not None  # prepare_config disabled the sink otherwise
            procs.append(
                subprocess.Popen([mosquitto, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
            print(f"demo: MQTT broker for sink {sink_id!r} on 127.0.0.1:{sink.port} (topics {sink.topic_prefix}/...)")
        yield
    finally:
        for proc in procs:
            child_process.stop(proc, timeout_s=5)


def seed(config: GatewayConfig, days: int) -> None:
    """Seed the archive with ``days`` of history (nothing if it already holds some); say what happened."""
    from gateway.demo_history import seed_history

    started = time.monotonic()
    result = seed_history(config, archive_path(config), days=days)
    if result.seeded:
        print(f"demo: {result.message} ({result.readings} readings) in {time.monotonic() - started:.1f} s")
    else:
        print(f"demo: history: {result.message}")


def continue_counters(meters: Any, bus: Any, config: GatewayConfig) -> int:
    """Start each simulated meter from its counter's last archived value; return how many were moved."""
    from gateway.report.meters import meter_field
    from gateway.report.reader import ReadOnlyArchive

    path = archive_path(config)
    if not path.exists():
        return 0
    reader = ReadOnlyArchive(path)
    moved = 0
    for device in bus.devices:
        fld = meter_field(device)
        try:
            last = reader.last_value("meter", {"device": device.id}, fld)
        except Exception as exc:  # an unreadable archive: the meters start from their own values
            print(f"demo: archive not read for the meters' counters ({exc})")
            return moved
        sim = meters.meters.get(device.unit)
        if last is None or sim is None:
            continue
        if fld == "water_m3":
            sim.model.water_m3 = last
        else:
            sim.model.energy_kwh = last
        moved += 1
    return moved


def run(args: argparse.Namespace) -> int:
    from gateway.commands._config import load_or_report
    from gateway.logs import setup_logging

    path = args.config or default_config_path()
    config = load_or_report(path, preface="demo: the configuration is invalid")
    if config is None:
        return 2
    setup_logging(args.log_level)
    args.state_dir.mkdir(parents=True, exist_ok=True)
    config = prepare_config(config, args.state_dir)
    if args.history_days < 0:
        print("demo: --history-days must be 0 or more", file=sys.stderr)
        return 2
    if args.history_days:
        seed(config, args.history_days)
    with contextlib.suppress(KeyboardInterrupt), local_brokers(config):
        asyncio.run(_demo(config, args, path))
    return 0


async def _demo(config: GatewayConfig, args: argparse.Namespace, path: Path) -> None:
    from drivers.sim.meters import SimulatedMeters
    from gateway.daemon import Daemon, RunOptions
    from gateway.users import ensure_demo_user

    listen = args.http or config.web.listen
    async with contextlib.AsyncExitStack() as stack:
        for bus_id, bus in config.buses.items():
            if bus.kind == "tcp":
                meters = SimulatedMeters.from_config(bus, host=bus.host, port=bus.port)
                continue_counters(meters, bus, config)
                await stack.enter_async_context(meters)
                print(f"demo: simulated meters of bus {bus_id!r} on {bus.host}:{bus.port} ({len(bus.devices)} meters)")
        name, password = ensure_demo_user(config.service.state_dir)
        print(
            f"demo: village {config.site.name!r} from {path}\n"
            f"demo: state in {config.service.state_dir}\n"
            f"demo: admin page http://{listen}/  —  login {name!r}, password {password!r} (new at every start)\n"
            "demo: Ctrl-C to stop"
        )
        daemon = Daemon(config, RunOptions(demo=True, http=listen))
        daemon.build()
        reporter = asyncio.create_task(_report(daemon, args.status_every), name="demo-status")
        try:
            await daemon.run()
        finally:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter


def status_line(daemon: Daemon, points_before: float, seconds: float) -> tuple[str, float]:
    """One line: points per minute, devices answering, sinks' backlog."""
    metrics = daemon.metrics
    points = sum(v for n, _k, _h, _l, v in metrics.items() if n == "gateway_points_total")
    per_min = (points - points_before) * 60.0 / seconds if seconds > 0 else 0.0
    assert daemon.core is not None
    snapshot = daemon.core.state.snapshot()
    devices = {key[0] for key in snapshot.samples}
    down = sorted(snapshot.unavailable)
    journal: Any = daemon.core.journal
    stats = journal.stats()
    sinks = ", ".join(f"{name}: backlog {s.backlog}" for name, s in stats.sinks.items()) or "no sink configured"
    line = (
        f"status: {per_min:.0f} points/min, {len(devices)} devices reporting"
        f"{', down: ' + ', '.join(down) if down else ''}; journal: {stats.committed} committed, "
        f"{stats.rows} awaiting sinks; {sinks}"
    )
    return line, points


async def _report(daemon: Daemon, every_s: float) -> None:
    loop = asyncio.get_running_loop()
    await daemon.started.wait()
    points, since = 0.0, loop.time()
    await asyncio.sleep(min(10.0, every_s))
    while True:
        now = loop.time()
        line, points = status_line(daemon, points, now - since)
        since = now
        print(line, flush=True)
        await asyncio.sleep(every_s)
