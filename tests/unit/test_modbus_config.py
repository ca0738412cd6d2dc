"""``[buses]`` checks that need the profiles: pulse-counter settings, one task per line."""

from __future__ import annotations

import pytest

from gateway.config import parse_config
from gateway.errors import ConfigError

BASE = """
[site]
id = "x"
name = "X"
latitude = 47.0
longitude = 1.0
[buildings.ecole]
name = "École"
kind = "school"
[buses.compteurs]
kind = "tcp"
host = "10.0.0.5"
[[buses.compteurs.devices]]
id = "ecole-eau"
unit = 5
profile = "{profile}"
building = "ecole"
{extra}
"""


def _problems(profile: str, extra: str = "", tail: str = "") -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(BASE.format(profile=profile, extra=extra) + tail, file="v.toml")
    return [str(p) for p in err.value.problems]


def test_a_valid_pulse_counter_passes():
    config = parse_config(BASE.format(profile="pulse-counter", extra='quantity = "water_m3"\nscale = 0.001'))
    assert config.buses["compteurs"].devices[0].scale == 0.001


@pytest.mark.parametrize(
    ("profile", "extra", "expected"),
    [
        (
            "pulse-counter",
            'quantity = "gas_m3"\nscale = 0.01',
            "v.toml:18: buses.compteurs.devices[0].quantity: pulse-counter: 'quantity' must be one of "
            "energy_export_kwh, energy_import_kwh, water_m3, got 'gas_m3'",
        ),
        (
            "pulse-counter",
            'quantity = "water_m3"',
            "v.toml:13: buses.compteurs.devices[0].scale: pulse-counter: 'scale' (units of water_m3 per count) "
            "must be a positive number",
        ),
        (
            "sdm120",
            "scale = 0.01",
            "v.toml:18: buses.compteurs.devices[0].scale: sdm120: 'quantity' and 'scale' apply only to pulse-counter",
        ),
        (
            "sdm12",
            "",
            "v.toml:16: buses.compteurs.devices[0].profile: unknown profile 'sdm12'; known: abb-b23, countis-e23, "
            "iem3155, pulse-counter, sdm120, sdm630",
        ),
    ],
)
def test_device_profile_settings_are_checked(profile, extra, expected):
    assert _problems(profile, extra) == [expected]


def test_two_buses_may_not_drive_the_same_line():
    tail = '[buses.bis]\nkind = "tcp"\nhost = "10.0.0.5"\nport = 502\n'
    tail += '[buses.rs1]\nkind = "rtu"\nport = "/dev/ttyUSB0"\n[buses.rs2]\nkind = "rtu"\nport = "/dev/ttyUSB0"\n'
    problems = _problems("sdm120", tail=tail)
    assert problems == [
        "v.toml:22: buses.bis.port: 10.0.0.5:502 is already driven by bus 'compteurs': put these meters on one bus",
        "v.toml:28: buses.rs2.port: /dev/ttyUSB0 is already driven by bus 'rs1': put these meters on one bus",
    ]
