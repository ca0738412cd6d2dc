"""Every profile decoded against a real pymodbus server holding known raw registers.

The registers are placed by hand at the addresses the vendors' documents give (converted to wire
addresses here, in the test, independently of the profile files): a profile that gets the
numbering convention, the word order, the type or the unit wrong fails here.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from drivers.modbus import TcpLink, read_once
from drivers.modbus_plan import plan_blocks
from drivers.modbus_profile import load_profile
from tests.support.modbus_server import f32, s32, s64, u32, u64

pytestmark = pytest.mark.integration

H, IN = "holding", "input"

# fmt: off
CASES = {
    "sdm120": (  # Eastron: input registers, float32; the manual's 30001 is wire address 0
        {
            (IN, 0x0000): f32(230.1), (IN, 0x0006): f32(5.5), (IN, 0x000C): f32(-1265.5),
            (IN, 0x001E): f32(0.98), (IN, 0x0046): f32(50.01), (IN, 0x0048): f32(1234.5),
            (IN, 0x004A): f32(12.25), (IN, 0x0156): f32(9999.0),  # total energy: not a canonical field
        },
        {
            "voltage_v": 230.1, "current_a": 5.5, "power_w": -1265.5, "power_factor": 0.98,
            "frequency_hz": 50.01, "energy_import_kwh": 1234.5, "energy_export_kwh": 12.25,
        },
    ),
    "sdm630": (
        {
            (IN, 0x0000): f32(231.0), (IN, 0x0002): f32(232.0), (IN, 0x0004): f32(float("nan")),
            (IN, 0x0006): f32(1.5), (IN, 0x0008): f32(2.5), (IN, 0x000A): f32(3.5),
            (IN, 0x000C): f32(345.0), (IN, 0x000E): f32(580.0), (IN, 0x0010): f32(808.0),
            (IN, 0x0034): f32(1733.0), (IN, 0x003E): f32(0.95), (IN, 0x0046): f32(49.98),
            (IN, 0x0048): f32(52031.5), (IN, 0x004A): f32(0.0),
        },
        {
            "voltage_l1_v": 231.0, "voltage_l2_v": 232.0, "voltage_l3_v": None,  # NaN -> missing
            "current_l1_a": 1.5, "current_l2_a": 2.5, "current_l3_a": 3.5,
            "power_l1_w": 345.0, "power_l2_w": 580.0, "power_l3_w": 808.0, "power_w": 1733.0,
            "power_factor": 0.95, "frequency_hz": 49.98, "energy_import_kwh": 52031.5, "energy_export_kwh": 0.0,
        },
    ),
    "iem3155": (  # Schneider numbers from 1: manual register N is wire address N - 1; kW and Wh
        {
            (H, 3000 - 1): f32(10.5), (H, 3002 - 1): f32(11.5), (H, 3004 - 1): f32(12.5),
            (H, 3028 - 1): f32(229.5), (H, 3030 - 1): f32(230.5), (H, 3032 - 1): f32(231.5),
            (H, 3054 - 1): f32(2.25), (H, 3056 - 1): f32(2.5), (H, 3058 - 1): f32(2.75),
            (H, 3060 - 1): f32(7.5), (H, 3084 - 1): f32(0.9), (H, 3110 - 1): f32(50.0),
            (H, 3204 - 1): s64(12_345_678), (H, 3208 - 1): s64(-(2**63)),  # export: not available
        },
        {
            "current_l1_a": 10.5, "current_l2_a": 11.5, "current_l3_a": 12.5,
            "voltage_l1_v": 229.5, "voltage_l2_v": 230.5, "voltage_l3_v": 231.5,
            "power_l1_w": 2250.0, "power_l2_w": 2500.0, "power_l3_w": 2750.0, "power_w": 7500.0,
            "power_factor": 0.9, "frequency_hz": 50.0, "energy_import_kwh": 12345.678, "energy_export_kwh": None,
        },
    ),
    "abb-b23": (  # ABB: hex wire addresses, scaled integers, all-0xFF / 0x7FFF… = not available
        {
            (H, 0x5000): u64(123_456_789), (H, 0x5004): u64(2**64 - 1),
            (H, 0x5B00): u32(2301), (H, 0x5B02): u32(2315), (H, 0x5B04): u32(2**32 - 1),
            (H, 0x5B0C): u32(1234), (H, 0x5B0E): u32(1000), (H, 0x5B10): u32(5),
            (H, 0x5B14): s32(-150_000), (H, 0x5B16): s32(-50_000), (H, 0x5B18): s32(2**31 - 1),
            (H, 0x5B1A): s32(-100_000), (H, 0x5B2C): [5001], (H, 0x5B3A): [(-950) & 0xFFFF],
        },
        {
            "energy_import_kwh": 1234567.89, "energy_export_kwh": None,
            "voltage_l1_v": 230.1, "voltage_l2_v": 231.5, "voltage_l3_v": None,
            "current_l1_a": 12.34, "current_l2_a": 10.0, "current_l3_a": 0.05,
            "power_w": -1500.0, "power_l1_w": -500.0, "power_l2_w": None, "power_l3_w": -1000.0,
            "frequency_hz": 50.01, "power_factor": -0.95,
        },
    ),
    "countis-e23": (  # Socomec: decimal wire addresses, V/100, mA, kW/100, kWh
        {
            (H, 50520): u32(23010), (H, 50522): u32(23100), (H, 50524): u32(22990),
            (H, 50526): u32(5000), (H, 50528): u32(12345), (H, 50530): u32(0), (H, 50532): u32(2**32 - 1),
            (H, 50536): s32(-123), (H, 50542): s32(-950),
            (H, 50544): s32(-41), (H, 50546): s32(-41), (H, 50548): s32(-41),
            (H, 50770): u32(98765), (H, 50776): u32(2**32 - 1),
        },
        {
            "voltage_l1_v": 230.1, "voltage_l2_v": 231.0, "voltage_l3_v": 229.9, "frequency_hz": 50.0,
            "current_l1_a": 12.345, "current_l2_a": 0.0, "current_l3_a": None,
            "power_w": -1230.0, "power_factor": -0.95,
            "power_l1_w": -410.0, "power_l2_w": -410.0, "power_l3_w": -410.0,
            "energy_import_kwh": 98765.0, "energy_export_kwh": None,
        },
    ),
}
# fmt: on


@pytest.mark.parametrize("name", sorted(CASES))
async def test_profile_decodes_documented_registers(raw_modbus_server, name):
    registers, expected = CASES[name]
    server = await raw_modbus_server({7: registers})
    profile = load_profile(name)
    values = await read_once(TcpLink("127.0.0.1", server.port), unit=7, profile=profile)
    assert values == expected
    # the coalesced plan is what went on the wire: one request per block, nothing more
    plan = plan_blocks(profile.fields, bus_kind="tcp")
    assert [(fc, start, count) for _u, fc, start, count in server.requests] == [
        (b.function_code, b.start, b.count) for b in plan
    ]


async def test_pulse_counter_scale_and_quantity_come_from_the_device(raw_modbus_server):
    server = await raw_modbus_server({3: {(H, 0): u32(123_456)}})
    profile = load_profile("pulse-counter").bind(quantity="water_m3", scale=0.001)
    values = await read_once(TcpLink("127.0.0.1", server.port), unit=3, profile=profile)
    assert values == {"water_m3": 123.456}
    energy = load_profile("pulse-counter").bind(quantity="energy_import_kwh", scale=0.1)
    assert await read_once(TcpLink("127.0.0.1", server.port), unit=3, profile=energy) == {
        "energy_import_kwh": 12345.6
    }


async def test_reading_the_manual_number_instead_of_the_wire_address_would_be_wrong(raw_modbus_server):
    """The 1-based trap: the same registers read with 0-based numbering give garbage."""
    registers, _ = CASES["iem3155"]
    server = await raw_modbus_server({7: {**registers, (H, 3211): [0]}})
    wrong = load_profile("iem3155")
    shifted = replace(wrong, fields=tuple(replace(f, address=f.address + 1) for f in wrong.fields))
    values = await read_once(TcpLink("127.0.0.1", server.port), unit=7, profile=shifted)
    assert values["power_w"] != 7500.0
    assert values["energy_import_kwh"] != 12345.678
