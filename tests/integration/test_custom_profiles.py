"""Profiles of one's own in the daemon (issue 11): `run` and `check-config` take them from beside the
configuration, the Modbus service polls a real pymodbus server with them, a reload applies an edited one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from drivers.sim.meters import SimulatedMeters
from gateway.clock import SystemClock
from gateway.config import load_config
from gateway.core import Core
from gateway.daemon import Daemon, RunOptions
from gateway.model import Reading
from gateway.reload import reload_config
from gateway.services import modbus
from tests.support.meter_maps import MY_METER
from tests.support.modbus_recorder import run_until
from tests.support.procs import free_port
from tests.support.village import building, site, tcp_bus

pytestmark = pytest.mark.integration

CONFIG = (
    site("x", "X", latitude=47.0, longitude=1.0)
    + building("ecole", "École", kind="school")
    + tcp_bus("compteurs", port="{port}")
    + """[[buses.compteurs.devices]]
id = "ecole-general"
unit = 1
profile = "my-meter"               # profiles/my-meter.toml beside this file
building = "ecole"
interval_s = 0.3
[[buses.compteurs.devices]]
id = "ecole-eau"
unit = 2
profile = "./compteurs/eau.toml"   # a path, from this file's folder
building = "ecole"
quantity = "water_m3"
scale = 0.001
interval_s = 0.3
[service]
state_dir = "{state}"
"""
)
WATER = """\
name = "eau"
description = "DIN-rail pulse counter keeping its count at register 100"
source = "Vendor Y data sheet, table 2"
numbering = "zero-based"
configurable = true
[fields.counter]
register = 100
type = "uint32"
unit = "count"
[bounds]
water_m3 = [0, 1e9]
energy_kwh = [0, 1e9]
[bounds.rise_per_hour]
water_m3 = 5                       # a DN20 meter's overload flow
energy_kwh = 300
"""


class ListJournal:
    def __init__(self) -> None:
        self.rows: list[Reading] = []

    def append(self, reading: Reading) -> None:
        self.rows.append(reading)


def village(tmp_path: Path, *, port: int = 502, my_meter: str = MY_METER) -> Path:
    etc = tmp_path / "etc"
    (etc / "profiles").mkdir(parents=True, exist_ok=True)
    (etc / "compteurs").mkdir(exist_ok=True)
    (etc / "profiles" / "my-meter.toml").write_text(my_meter, encoding="utf-8")
    (etc / "compteurs" / "eau.toml").write_text(WATER, encoding="utf-8")
    config = etc / "gateway.toml"
    config.write_text(CONFIG.format(port=port, state=tmp_path / "state"), encoding="utf-8")
    return config


async def test_the_modbus_service_polls_a_real_server_with_profiles_of_ones_own(tmp_path):
    config = load_config(village(tmp_path, port=free_port()))
    journal = ListJournal()
    core = Core(config=config, clock=SystemClock(), journal=journal)
    (service,) = modbus.build(config, core)
    bus = config.buses["compteurs"]
    async with SimulatedMeters.from_config(bus) as sim:  # a pymodbus server holding each map's registers
        sim.set_values(1, {"power_w": 1500.0, "energy_import_kwh": 8765.432})
        sim.set_values(2, {"water_m3": 123.456})
        await run_until(service.run, lambda: {r.tag("device") for r in journal.rows} == {"ecole-general", "ecole-eau"}, within=15)
    meter = next(r for r in journal.rows if r.tag("device") == "ecole-general")
    water = next(r for r in journal.rows if r.tag("device") == "ecole-eau")
    assert meter.field_map() == {"power_w": 1500.0, "energy_import_kwh": 8765.432}
    assert water.field_map() == {"water_m3": 123.456}
    # each map read where it says: manual registers 13 and 73 of the input table, the counter at holding 100
    assert {(unit, function, start) for unit, function, start, _count in sim.requests} >= {(1, 4, 12), (2, 3, 100)}
    assert sum(core.metrics.get("gateway_device_errors_total", device=d) for d in ("ecole-general", "ecole-eau")) == 0


async def test_a_custom_profiles_bounds_apply_in_the_daemon(tmp_path):
    """Its [bounds] are not decoration: a value outside them is dropped and counted, as for a shipped map."""
    config = load_config(village(tmp_path, port=free_port()))
    journal = ListJournal()
    core = Core(config=config, clock=SystemClock(), journal=journal)
    (service,) = modbus.build(config, core)
    async with SimulatedMeters.from_config(config.buses["compteurs"]) as sim:
        sim.set_values(1, {"power_w": 25_000_000.0, "energy_import_kwh": 10.0})  # 25 MW on a 80 A meter
        sim.set_values(2, {"water_m3": 1.0})
        await run_until(service.run, lambda: any(r.tag("device") == "ecole-general" for r in journal.rows), within=15)
    rows = [r.field_map() for r in journal.rows if r.tag("device") == "ecole-general"]
    assert all("power_w" not in fields for fields in rows)
    assert rows[0]["energy_import_kwh"] == 10.0
    metric = "gateway_modbus_implausible_total"
    assert core.metrics.get(metric, device="ecole-general", field="power_w", reason="above_max") >= 1


def test_check_config_and_run_take_and_refuse_profiles_of_ones_own(tmp_path):
    config = village(tmp_path)
    cli = [sys.executable, "-m", "gateway.cli"]
    ok = subprocess.run([*cli, "check-config", str(config)], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert ", 2 meters, " in ok.stdout
    # a mistake in the profile file: both commands name that file, its line and its field
    profile = tmp_path / "etc" / "profiles" / "my-meter.toml"
    profile.write_text(MY_METER.replace('type = "uint32"', 'type = "uint24"'), encoding="utf-8")
    expected = f"{profile}:12: fields.energy_import_kwh.type: Input should be 'uint16', 'int16',"
    ko = subprocess.run([*cli, "check-config", str(config)], capture_output=True, text=True, check=False)
    assert ko.returncode == 2
    assert ko.stderr.startswith(expected), ko.stderr
    run = subprocess.run([*cli, "run", "--config", str(config)], capture_output=True, text=True, check=False, timeout=60)
    assert run.returncode == 2
    assert run.stderr.splitlines()[0] == "refusing to start: the configuration is invalid"
    assert run.stderr.splitlines()[1].startswith(expected), run.stderr
    assert not (tmp_path / "state").exists()  # refused before anything was created


async def test_a_reload_applies_an_edited_profile_file(tmp_path):
    """Only the profile file changed: the configuration is a changed one, so SIGHUP re-executes on it."""
    file = village(tmp_path)
    daemon = Daemon(load_config(file), RunOptions(config_path=file))
    assert await reload_config(daemon) is True  # nothing edited: nothing to do
    assert not daemon.reexec_requested
    (tmp_path / "etc" / "profiles" / "my-meter.toml").write_text(
        MY_METER.replace("register = 73", "register = 75"), encoding="utf-8"
    )
    assert await reload_config(daemon) is True
    assert daemon.reexec_requested is True
