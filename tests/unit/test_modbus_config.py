"""``[buses]`` checks that need the profiles: pulse-counter settings, one task per line."""

from __future__ import annotations

import pytest

from gateway.config import parse_config
from gateway.errors import ConfigError
from tests.support.village import building, meter, site

BASE = (
    "\n"
    + site("x", "X", latitude=47.0, longitude=1.0)
    + building("ecole", "École", kind="school")
    + '[buses.compteurs]\nkind = "tcp"\nhost = "10.0.0.5"\n'
    + meter("compteurs", "ecole-eau", unit=5, profile="{profile}", building="ecole")
    + "{extra}\n"
)


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


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (  # issue 12: a scale of 1e300 passed check-config
            'quantity = "water_m3"\nscale = 1e300',
            "v.toml:19: buses.compteurs.devices[0].scale: pulse-counter: 'scale' = 1e+300 water_m3 per count is "
            "implausible (between 1e-06 and 1000: e.g. 0.001 for one litre or one Wh per count)",
        ),
        ('quantity = "water_m3"\nscale = nan', "v.toml:19: buses.compteurs.devices[0].scale: Input should be"),
        ('quantity = "water_m3"\nscale = inf', "v.toml:19: buses.compteurs.devices[0].scale: Input should be"),
        ('quantity = "water_m3"\nscale = 0.001\ninterval_s = inf', "v.toml:20: buses.compteurs.devices[0].interval_s"),
    ],
)
def test_numbers_of_a_device_are_finite_and_sane(extra, expected):
    (problem,) = _problems("pulse-counter", extra)
    assert problem.startswith(expected)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("timeout_s = 0.001", "v.toml:13: buses.compteurs.timeout_s: Input should be greater than or equal to 0.05"),
        ("timeout_s = nan", "v.toml:13: buses.compteurs.timeout_s: Input should be a finite number"),
        ("max_backoff_s = 1e300", "v.toml:13: buses.compteurs.max_backoff_s: Input should be less than or equal to 3600"),
    ],
)
def test_numbers_of_a_bus_are_finite_and_sane(setting, expected):
    text = BASE.format(profile="sdm120", extra="").replace('host = "10.0.0.5"', f'host = "10.0.0.5"\n{setting}')
    with pytest.raises(ConfigError) as err:
        parse_config(text, file="v.toml")
    assert [str(p) for p in err.value.problems] == [expected]


def test_an_rs485_timeout_shorter_than_one_exchange_at_the_lines_baud_rate_is_refused():
    text = BASE.format(profile="sdm630", extra="").replace(
        'kind = "tcp"\nhost = "10.0.0.5"', 'kind = "rtu"\nport = "/dev/ttyUSB0"\nbaudrate = 1200\ntimeout_s = 0.2'
    )
    with pytest.raises(ConfigError) as err:
        parse_config(text, file="v.toml")
    assert [str(p) for p in err.value.problems] == [
        "v.toml:14: buses.compteurs.timeout_s: 0.2 s is shorter than one exchange of 24 registers at 1200 baud "
        "(0.62 s on the line): every such read would time out"
    ]
    assert parse_config(text.replace("timeout_s = 0.2", "timeout_s = 1.0"), file="v.toml")
