"""The Modbus subsystem wired into the core: the demo village's meters, served by the simulator."""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path

import pytest

from drivers.sim.meters import SimulatedMeters
from gateway.clock import SystemClock
from gateway.config import parse_config
from gateway.core import Core
from gateway.model import Reading
from gateway.service import StopPhase
from gateway.services import modbus
from tests.support.modbus_recorder import run_until, wait_until
from tests.support.procs import free_port

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "village.toml"


class ListJournal:
    def __init__(self) -> None:
        self.rows: list[Reading] = []

    def append(self, reading: Reading) -> None:
        self.rows.append(reading)


def _demo_config(port: int, *, interval: float = 0.3):
    """The demo village with its meters on ``port`` and fast poll intervals."""
    text = EXAMPLE.read_text(encoding="utf-8").replace("port = 15502", f"port = {port}")
    text = re.sub(r"(?m)^interval_s = \d+", f"interval_s = {interval}", text)
    return parse_config(text, file="village.toml", base_dir=EXAMPLE.parent)


async def test_the_demo_villages_meters_reach_the_state_and_the_journal():
    port = free_port()
    config = _demo_config(port)
    journal = ListJournal()
    core = Core(config=config, clock=SystemClock(), journal=journal)
    services = modbus.build(config, core)
    assert [(s.name, s.stop_phase) for s in services] == [("modbus:compteurs", StopPhase.PRODUCER)]
    devices = [d.id for d in config.buses["compteurs"].devices]
    async with SimulatedMeters.from_config(config.buses["compteurs"]):
        task = asyncio.create_task(services[0].run())
        try:
            await wait_until(lambda: {r.tag("device") for r in journal.rows} == set(devices), within=15)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    snapshot = core.state.snapshot()
    assert snapshot.value("ecole-eau", "water_m3") is not None
    assert snapshot.value("mairie-general", "power_w").value > 0
    salle = next(r for r in journal.rows if r.tag("device") == "salle-general")
    assert dict(salle.tags) == {
        "site": "saint-martin", "building": "salle", "zone": "grande_salle", "device": "salle-general"
    }  # fmt: skip
    assert salle.measurement == "meter"
    assert core.metrics.get("gateway_points_total", measurement="meter") == len(journal.rows)
    assert sum(core.metrics.get("gateway_device_errors_total", device=d) for d in devices) == 0


async def test_a_dead_meter_is_reported_unavailable_to_the_core():
    port = free_port()
    config = _demo_config(port)
    core = Core(config=config, clock=SystemClock(), journal=ListJournal())
    (service,) = modbus.build(config, core)
    async with SimulatedMeters.from_config(config.buses["compteurs"]) as sim:
        sim.silence(4)  # the church's ABB meter
        await run_until(service.run, lambda: "eglise-general" in core.state.snapshot().unavailable, within=15)
    status = core.state.snapshot().unavailable["eglise-general"]
    assert status.error.startswith("timeout")
    assert core.metrics.get("gateway_device_errors_total", device="eglise-general") >= 1


def test_disabled_meters_are_not_polled_and_empty_buses_get_no_task():
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        'profile = "sdm630"', 'profile = "sdm630"\nenabled = false'
    )
    config = parse_config(text, file="village.toml", base_dir=EXAMPLE.parent)
    core = Core(config=config, clock=SystemClock(), journal=ListJournal())
    (service,) = modbus.build(config, core)
    assert "mairie-general" not in [d.spec.id for d in service.poller.devices]
    assert len(service.poller.devices) == 4


async def test_implausible_values_never_reach_the_journal_and_are_counted_in_metrics():
    port = free_port()
    config = _demo_config(port)
    journal = ListJournal()
    core = Core(config=config, clock=SystemClock(), journal=journal)
    (service,) = modbus.build(config, core)
    async with SimulatedMeters.from_config(config.buses["compteurs"]) as sim:
        # the hall's SDM120 reports 3.4e38 V and a negative energy (issue 12)
        sim.set_values(3, {"voltage_v": 3.4e38, "current_a": 2.0, "power_w": 460.0, "power_factor": 0.95,
                           "frequency_hz": 50.0, "energy_import_kwh": -12.0, "energy_export_kwh": 0.0})  # fmt: skip
        await run_until(service.run, lambda: any(r.tag("device") == "salle-general" for r in journal.rows), within=15)
    salle = [r.field_map() for r in journal.rows if r.tag("device") == "salle-general"]
    assert all("voltage_v" not in fields and "energy_import_kwh" not in fields for fields in salle)
    assert salle[0]["power_w"] == 460.0
    metric = "gateway_modbus_implausible_total"
    assert core.metrics.get(metric, device="salle-general", field="voltage_v", reason="above_max") >= 1
    assert core.metrics.get(metric, device="salle-general", field="energy_import_kwh", reason="below_min") >= 1
    assert "salle-general" not in core.state.snapshot().unavailable  # it answers; some values are wrong
    assert any(help_text for name, _kind, help_text, _labels, _value in core.metrics.items() if name == metric)
