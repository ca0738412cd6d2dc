"""The demo with a history, for the browser tests and the page-load benchmark.

:func:`prepare_demo_history` seeds the state directory's hourly archive with days of plausible hourly
readings for the demo village's sensors, relays, zone targets and meters (a Pi that has run for a
week has this "own history"; a fresh demo has none), then the tests run the real
``village-gateway demo --http HOST:PORT --state-dir DIR`` (:func:`demo_argv`) on it and read the demo
account it prints (:func:`demo_credentials`).
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from gateway.model import Reading

ROOT = Path(__file__).resolve().parents[2]


def demo_config(state_dir: Path, meters_port: int) -> object:
    from gateway.config import load_config

    config = load_config(ROOT / "examples" / "village.toml")
    buses = {
        name: bus.model_copy(update={"port": meters_port}) if getattr(bus, "kind", "") == "tcp" else bus
        for name, bus in config.buses.items()
    }
    return config.model_copy(
        update={"service": config.service.model_copy(update={"state_dir": state_dir}), "buses": buses}
    )


def history(config: object, now: datetime, days: int) -> Iterator[Reading]:
    """Hourly readings for ``days``: rooms warm when scheduled, a winter outdoor curve, meters counting."""
    site = config.site.id  # type: ignore[attr-defined]
    start = (now - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    counters: dict[str, float] = {}
    tz = ZoneInfo(config.site.timezone)  # type: ignore[attr-defined]
    for hour in range(days * 24 + 1):
        t = start + timedelta(hours=hour)
        ns = int(t.timestamp()) * 1_000_000_000
        local = t.astimezone(tz)
        outdoor = 4.5 + 3.5 * math.sin((local.hour - 9) / 24 * 2 * math.pi)
        outdoor_sensors = {
            zone.heating.outdoor_sensor
            for building in config.buildings.values()  # type: ignore[attr-defined]
            for zone in building.zones.values()
            if zone.heating is not None and zone.heating.outdoor_sensor
        }
        for sensor in sorted(outdoor_sensors):
            yield Reading.make(
                "climate", {"site": site, "device": sensor}, {"temperature_c": round(outdoor, 2)}, time_ns=ns
            )
        for building_id, building in config.buildings.items():  # type: ignore[attr-defined]
            for zone_id, zone in building.zones.items():
                heating = zone.heating
                if heating is None:
                    continue
                occupied = any(
                    local.weekday() in slot.days
                    and slot.start <= f"{local.hour:02d}:00" < slot.end.replace("24:00", "24:01")
                    for slot in heating.schedule
                )
                setpoint = heating.setpoints.confort if occupied else heating.setpoints.reduit
                tags = {"site": site, "building": building_id, "zone": zone_id}
                for sensor in heating.sensors:
                    yield Reading.make(
                        "climate",
                        {**tags, "device": sensor},
                        {"temperature_c": round(setpoint - 0.4 + 0.3 * math.sin(hour), 2)},
                        time_ns=ns,
                    )
                for relay in heating.outputs[:1]:
                    yield Reading.make("relay", {**tags, "device": relay}, {"on": occupied}, time_ns=ns)
                # as the control loop samples it every tick (gateway.services.control._publish_zones)
                yield Reading.make(
                    "climate",
                    {**tags, "device": f"{building_id}/{zone_id}"},
                    {"target_c": setpoint, "heater_on": occupied, "mode": "confort" if occupied else "reduit"},
                    time_ns=ns,
                )
        for bus in config.buses.values():  # type: ignore[attr-defined]
            for device in bus.devices:
                field = "water_m3" if device.quantity == "water_m3" else "energy_import_kwh"
                step = _step(field, local.hour, device.unit)
                if device.id not in counters:
                    # the history ends where the demo's simulated meter starts counting
                    # (drivers.sim.meters.MeterModel: 1000 + 97 x unit kWh, 100 + 3 x unit m³), so the
                    # archive sees no jump (a "reset") when the live readings follow it
                    initial = 100.0 + 3.0 * device.unit if field == "water_m3" else 1000.0 + 97.0 * device.unit
                    counters[device.id] = initial - sum(
                        _step(field, (start + timedelta(hours=h)).astimezone(tz).hour, device.unit)
                        for h in range(1, days * 24 + 1)
                    )
                else:
                    counters[device.id] += step
                yield Reading.make(
                    "meter",
                    {"site": site, "device": device.id, "building": device.building},
                    {field: round(counters[device.id], 3)},
                    time_ns=ns,
                )


def _step(field: str, hour: int, unit: int) -> float:
    """A meter's hourly increase in the history (each building its own size: scaled by its unit id)."""
    scale = 0.6 + 0.25 * unit
    return 0.012 * scale if field == "water_m3" else (3.5 if 8 <= hour < 18 else 0.8) * scale


def seed_archive(config: object, state_dir: Path, days: int) -> None:
    from gateway.archive import Archive
    from gateway.clock import SystemClock

    if days <= 0:
        return
    archive = Archive(state_dir / "archive.sqlite", clock=SystemClock())
    try:
        archive.add(list(history(config, datetime.now(UTC) - timedelta(hours=1), days)))
        archive.flush()
    finally:
        archive.close()


def demo_argv(state_dir: Path, http: str) -> list[str]:
    """``village-gateway demo`` on ``http`` with its state in ``state_dir``, as a new user runs it."""
    return [
        sys.executable,
        "-u",
        "-m",
        "gateway.cli",
        "demo",
        "--http",
        http,
        "--state-dir",
        str(state_dir),
        "--status-every",
        "3600",
    ]


def prepare_demo_history(state_dir: Path, days: int) -> None:
    """Seed ``state_dir``'s hourly archive with ``days`` of the demo village's history."""
    from gateway.commands.demo import default_config_path
    from gateway.config import load_config

    state_dir.mkdir(parents=True, exist_ok=True)
    seed_archive(load_config(default_config_path()), state_dir, days)


def demo_credentials(log_text: str) -> dict[str, str]:
    """The demo account the demo printed: ``login 'demo', password '...'``."""
    match = re.search(r"login '([^']+)', password '([^']+)'", log_text)
    if match is None:
        raise RuntimeError(f"the demo printed no credentials:\n{log_text[-2000:]}")
    return {"user": match.group(1), "password": match.group(2)}
