"""``village-gateway modbus-read``: the installer's commissioning command, run as a real process."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from drivers.modbus_profile import load_profile
from drivers.sim.meters import SimMeter
from tests.support.meter_maps import MY_METER
from tests.support.procs import free_port

pytestmark = pytest.mark.integration

CLI = str(Path(sys.executable).with_name("village-gateway"))
SDM630_VALUES = {
    "voltage_l1_v": 230.5, "voltage_l2_v": 231.0, "voltage_l3_v": 229.5, "current_l1_a": 4.5,
    "current_l2_a": 3.5, "current_l3_a": 2.5, "power_l1_w": 1000.0, "power_l2_w": 800.0,
    "power_l3_w": 600.0, "power_w": 2400.0, "power_factor": 0.95, "frequency_hz": 50.0,
    "energy_import_kwh": 8765.5, "energy_export_kwh": 1.25,
}  # fmt: skip


async def _cli(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        CLI, "modbus-read", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=cwd
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_modbus_read_prints_one_json_object(sim_meters):
    sim = await sim_meters([SimMeter(3, load_profile("sdm630"))])
    sim.set_values(3, {**SDM630_VALUES, "voltage_l3_v": None})
    code, out, err = await _cli(
        "--host", "127.0.0.1", "--port", str(sim.port), "--unit", "3", "--profile", "sdm630", "--json"
    )
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "profile": "sdm630",
        "unit": 3,
        "readings": {**SDM630_VALUES, "voltage_l3_v": None},
    }


async def test_modbus_read_pulse_counter_with_scale_and_quantity(sim_meters):
    counter = load_profile("pulse-counter").bind(quantity="water_m3", scale=0.001)
    sim = await sim_meters([SimMeter(5, counter)])
    sim.set_values(5, {"water_m3": 123.456})
    code, out, _ = await _cli(
        "--host", "127.0.0.1", "--port", str(sim.port), "--unit", "5", "--profile", "pulse-counter",
        "--quantity", "water_m3", "--scale", "0.001", "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out) == {"profile": "pulse-counter", "unit": 5, "readings": {"water_m3": 123.456}}


async def test_modbus_read_over_rs485(rtu_pty):
    from drivers.sim.meters import SimulatedMeters

    server_end, client_end = rtu_pty
    async with SimulatedMeters([SimMeter(1, load_profile("sdm630"))], serial_port=server_end) as sim:
        sim.set_values(1, SDM630_VALUES)
        code, out, err = await _cli(
            "--serial",
            client_end,
            "--baud",
            "9600",
            "--parity",
            "N",
            "--unit",
            "1",
            "--profile",
            "sdm630",
            "--json",
        )
    assert (code, err) == (0, "")
    assert json.loads(out)["readings"] == SDM630_VALUES


async def test_a_meter_that_does_not_answer_is_a_clear_error(sim_meters):
    sim = await sim_meters([SimMeter(1, load_profile("sdm120"))])
    code, out, err = await _cli(
        "--host", "127.0.0.1", "--port", str(sim.port), "--unit", "9", "--profile", "sdm120", "--json",
        "--timeout", "0.3",
    )  # fmt: skip
    assert (code, out) == (1, "")
    assert err.strip() == f"modbus-read: unit 9 on 127.0.0.1:{sim.port} did not answer: no reply within 0.3s"
    assert "Traceback" not in err


async def test_nothing_listening_is_a_clear_error():
    port = free_port()
    code, _, err = await _cli("--host", "127.0.0.1", "--port", str(port), "--unit", "1", "--profile", "sdm120")
    assert code == 1
    assert err.startswith(f"modbus-read: unit 1 on 127.0.0.1:{port} did not answer: cannot connect")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--profile", "sdm999"], "modbus-read: unknown profile 'sdm999'"),
        (["--profile", "pulse-counter"], "modbus-read: pulse-counter: 'quantity' must be one of"),
        (["--profile", "sdm120", "--scale", "2"], "apply only to pulse-counter"),
    ],
)
async def test_bad_usage_exits_2_with_the_reason(args, message):
    code, _, err = await _cli("--host", "127.0.0.1", "--unit", "1", *args)
    assert code == 2
    assert message in err


async def test_a_profile_file_can_be_tried_before_it_is_shipped(sim_meters, tmp_path):
    draft = tmp_path / "my-meter.toml"
    draft.write_text(
        'name = "my-meter"\ndescription = "a draft"\nsource = "vendor table 5, to be checked"\n'
        'numbering = "one-based"\n[defaults]\nfunction = "input"\n'
        '[fields.power_w]\nregister = 13\nunit = "W"\n',  # manual number 13 = wire address 0x000C
        encoding="utf-8",
    )
    sim = await sim_meters([SimMeter(1, load_profile("sdm120"))])
    sim.set_values(1, {"power_w": 1265.5})
    where = ("--host", "127.0.0.1", "--port", str(sim.port), "--unit", "1")
    # validated as the daemon validates it: a map without [bounds] is refused, at its file and line...
    code, out, err = await _cli(*where, "--profile", str(draft))
    assert (code, out) == (2, "")
    assert err == f"modbus-read: {draft}:1: bounds: missing (each quantity's plausible range: docs/meter-profiles.md)\n"
    # ...unless it is said to be a draft (trying the register map before working out its bounds)
    code, out, err = await _cli(*where, "--profile", str(draft), "--draft")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"a draft — unit 1 on 127.0.0.1:{sim.port}"
    assert lines[1].split() == ["power_w", "1265.5"]


async def test_a_profile_of_ones_own_is_read_by_a_relative_path(sim_meters, tmp_path):
    from gateway.meter_profiles import load_profile_file

    (tmp_path / "my-meter.toml").write_text(MY_METER, encoding="utf-8")
    mine = load_profile_file(tmp_path / "my-meter.toml")
    sim = await sim_meters([SimMeter(7, mine)])  # a real pymodbus server holding the registers in the map's encoding
    sim.set_values(7, {"power_w": 2500.0, "energy_import_kwh": 1234.567})  # canonical units
    code, out, err = await _cli(
        "--host", "127.0.0.1", "--port", str(sim.port), "--unit", "7", "--profile", "./my-meter.toml", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "profile": "my-meter",
        "unit": 7,
        "readings": {"power_w": 2500.0, "energy_import_kwh": 1234.567},  # from kW and Wh, exactly
    }
    # the map's own table (input registers) and numbering (manual register 13 = wire address 12)
    assert {(unit, function) for unit, function, _start, _count in sim.requests} == {(7, 4)}
    assert min(start for _unit, _function, start, _count in sim.requests) == 12


async def test_a_name_is_looked_up_in_the_profiles_folder_beside_the_configuration(sim_meters, tmp_path):
    from gateway.meter_profiles import load_profile_file

    folder = tmp_path / "etc" / "profiles"
    folder.mkdir(parents=True)
    (folder / "my-meter.toml").write_text(MY_METER, encoding="utf-8")
    sim = await sim_meters([SimMeter(2, load_profile_file(folder / "my-meter.toml"))])
    sim.set_values(2, {"power_w": 750.0, "energy_import_kwh": 5.0})
    config = str(tmp_path / "etc" / "gateway.toml")  # need not exist: only its folder is used
    where = ("--host", "127.0.0.1", "--port", str(sim.port), "--unit", "2", "--json")
    code, out, err = await _cli(*where, "--profile", "my-meter", "--config", config)
    assert (code, err) == (0, "")
    assert json.loads(out)["readings"] == {"power_w": 750.0, "energy_import_kwh": 5.0}
    # a mistake in it is located in the profile file, as check-config and run locate it
    (folder / "my-meter.toml").write_text(MY_METER.replace('unit = "kW"', 'unit = "kVA"'), encoding="utf-8")
    code, out, err = await _cli(*where, "--profile", "my-meter", "--config", config)
    assert (code, out) == (2, "")
    assert err == f"modbus-read: {folder / 'my-meter.toml'}:9: fields.power_w.unit: 'kVA' cannot give power_w (use W, kW)\n"
