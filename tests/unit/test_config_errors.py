"""An invalid configuration names the file, line, field and reason — every problem, not just the first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import load_config, parse_config
from gateway.errors import ConfigError
from tests.support.village import building, meter, site, tcp_bus, zone

SITE = site() + "\n" + building("mairie", "Mairie") + zone("mairie", "bureaux", "Bureaux")


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, file="village.toml")
    return [str(p) for p in info.value.problems]


def test_minimal_config_is_valid_with_french_defaults() -> None:
    config = parse_config(SITE, file="village.toml")
    assert config.site.timezone == "Europe/Paris"
    assert config.buildings["mairie"].zones["bureaux"].name == "Bureaux"
    assert config.journal.commit_interval_s == 5.0
    assert config.journal_path == Path("/var/lib/village-gateway/journal.sqlite")


def test_unknown_key_is_an_error_with_its_line() -> None:
    assert problems(SITE.replace('name = "Saint-Martin"', 'nom = "Saint-Martin"')) == [
        "village.toml:1: site.name: required but missing",
        "village.toml:3: site.nom: unknown key (typo?)",
    ]


def test_every_problem_is_reported_with_path_and_line() -> None:
    text = (
        SITE
        + '\n[buses.rs485]\nkind = "rtu"\nport = "/dev/ttyUSB0"\nbaudrate = 9601\n\n'
        + meter("rs485", "ok", unit=1, profile="sdm120", building="mairie")
        + "\n"
        + meter("rs485", "Bad Id", unit=0, profile="sdm120", building="mairie")
    )
    assert problems(text) == [
        "village.toml:15: buses.rs485.baudrate: Input should be 1200, 2400, 4800, 9600, 19200, 38400, 57600 or 115200",
        "village.toml:24: buses.rs485.devices[1].id: 'Bad Id' is not a valid identifier (lower-case letters, digits, '-', '_')",
        "village.toml:25: buses.rs485.devices[1].unit: Input should be greater than or equal to 1",
    ]


def test_unknown_kind_and_missing_kind() -> None:
    text = SITE + '\n[sinks.central]\nkind = "influx-v3"\nurl = "https://x"\n\n[buses.b]\nhost = "1.2.3.4"\n'
    assert problems(text) == [
        "village.toml:12: sinks.central: unknown kind 'influx-v3'; expected one of 'influx-v1', 'influx-v2', 'mqtt'",
        "village.toml:16: buses.b: missing 'kind' (which kind of bus or sink is this?)",
    ]


def test_bad_time_zone_and_latitude() -> None:
    text = SITE.replace("latitude = 47.39", "latitude = 147.39") + 'timezone = "Europe/Pariss"\n'
    text = text.replace("[buildings.mairie]\n", "").replace('name = "Mairie"\n', "")
    found = problems(text.replace('[buildings.mairie.zones.bureaux]\nname = "Bureaux"\n', "") + "")
    assert "village.toml:4: site.latitude: Input should be less than or equal to 90" in found
    assert any(
        p.startswith("village.toml:") and "site.timezone: unknown time zone 'Europe/Pariss'" in p
        for p in found
    )


def test_not_toml_names_the_line() -> None:
    assert problems(SITE + "\n[broken\n") == [
        "village.toml:12: broken: not valid TOML: Expected ']' at the end of a table declaration (column 8)"
    ]


def test_cross_section_references_are_checked() -> None:
    text = (
        SITE
        + "\n"
        + tcp_bus("tcp")
        + meter("tcp", "m1", unit=1, profile="sdm120", building="ecole")
        + meter("tcp", "m1", unit=1, profile="sdm120", building="mairie")
        + 'zone = "cuisine"\n'
    )
    found = problems(text)
    assert "village.toml:19: buses.tcp.devices[0].building: no building 'ecole' in [buildings]" in found
    assert "village.toml:25: buses.tcp.devices[1].zone: building 'mairie' has no zone 'cuisine'" in found
    assert "village.toml:22: buses.tcp.devices[1].unit: unit 1 is used twice on bus 'tcp'" in found
    assert any(
        p.startswith("village.toml:21: buses.tcp.devices[1].id: device id 'm1' already used") for p in found
    )


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.toml")


def test_relative_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    file = tmp_path / "etc" / "gw.toml"
    file.write_text(SITE + '\n[service]\nstate_dir = "../state"\n', encoding="utf-8")
    assert load_config(file).journal_path == (tmp_path / "state" / "journal.sqlite")


def test_check_config_command_exit_codes(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(SITE, encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(SITE.replace("latitude", "lattitude"), encoding="utf-8")
    cmd = [sys.executable, "-m", "gateway.cli", "check-config"]
    ok = subprocess.run([*cmd, str(good)], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "OK" in ok.stdout
    ko = subprocess.run([*cmd, str(bad)], capture_output=True, text=True, check=False)
    assert ko.returncode == 2
    assert ko.stderr.splitlines() == [
        f"{bad}:1: site.latitude: required but missing",
        f"{bad}:4: site.lattitude: unknown key (typo?)",
    ]


# ---- issue 12: inputs that once escaped the loader or lost their line or field --------------------------------

SINK_AND_BUS = (
    SITE
    + """
[sinks.mqtt]
kind = "mqtt"
host = "127.0.0.1"
port = 0
[buses.tcp]
kind = "tcp"
host = "127.0.0.1"
timeout_s = -1
"""
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the names equal the union tags pydantic puts in its error locations: they were dropped with them
        pytest.param(
            SINK_AND_BUS,
            [
                "village.toml:15: sinks.mqtt.port: Input should be greater than or equal to 1",
                "village.toml:19: buses.tcp.timeout_s: Input should be greater than or equal to 0.05",
            ],
            id="a sink named mqtt and a bus named tcp keep their names in the path",
        ),
        pytest.param(
            SITE + '\n[gpio.relays.a]\npin = 17\n[gpio.relays.b]\npin = 17\n[gpio.inputs.a]\npin = 5\nkind = "motion"\n',
            [
                "village.toml:15: gpio.relays.b.pin: pin 17 is already used by gpio.relays.a",
                "village.toml:16: gpio.inputs.a: 'a' is already the name of a relay (gpio.relays.a)",
            ],
            id="duplicate gpio pins name the second pin",
        ),
        pytest.param(
            SITE + "\n[[journal]]\nbudget_mb = 10\n",
            ["village.toml:12: journal: Input should be a valid dictionary or instance of JournalConfig"],
            id="a table written as an array of tables is located",
        ),
        pytest.param(
            SITE.replace("[buildings.mairie]\n", '[buildings.mairie]\n"" = 1\n"a.b" = 2\n'),
            [
                'village.toml:8: buildings.mairie."": unknown key (typo?)',
                'village.toml:9: buildings.mairie."a.b": unknown key (typo?)',
            ],
            id="an empty or unusual key is quoted in the path",
        ),
    ],
)
def test_an_input_that_once_lost_its_line_or_field_is_located(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


BOOKING = """
[[simulation.bookings]]
zone = "mairie/bureaux"
start = 2026-01-17T14:00:00Z
end = 2026-01-17T18:00:00
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SITE + BOOKING, "village.toml:14: simulation.bookings[0].start: 2026-01-17T14:00:00+00:00 has a UTC offset"),
        (SITE.replace('name = "Saint-Martin"', f'name = "S"\ntimezone = "{"x" * 300}"'), "village.toml:4: site.timezone"),
        (SITE + "x = " + "[" * 1000 + "]" * 1000, "village.toml:11: buildings.mairie.zones.bureaux.x: values nested"),
        (SITE + "x = " + "{a=" * 400 + "1" + "}" * 400, "village.toml:11: buildings.mairie.zones.bureaux.x: values"),
    ],
)
def test_check_config_locates_what_once_was_a_traceback(tmp_path: Path, text: str, expected: str) -> None:
    file = tmp_path / "village.toml"
    file.write_text(text, encoding="utf-8")
    cmd = [sys.executable, "-m", "gateway.cli", "check-config", str(file)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(expected.replace("village.toml", str(file))), result.stderr


def test_a_file_that_is_not_utf8_is_located_at_its_line(tmp_path: Path) -> None:
    file = tmp_path / "village.toml"
    file.write_bytes(SITE.replace("Saint-Martin", "Saint-Mart\xedn").encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_config(file)
    assert [str(p) for p in info.value.problems] == [
        f"{file}:3: site.name: not UTF-8 text: byte 0xed cannot be decoded (save the file as UTF-8)"
    ]


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    file = tmp_path / "village.toml"
    file.write_bytes(b"\xef\xbb\xbf" + SITE.encode())
    assert load_config(file).site.id == "saint-martin"
