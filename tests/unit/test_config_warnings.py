"""A heated zone's fail-safe as ``check-config`` judges it (issue 10): frost risks and blind fail-safes are
warnings located like problems; presence inputs that are not people detectors are errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import parse_config
from gateway.errors import ConfigError
from gateway.schema.config_warnings import heating_warnings, located
from tests.support.village import building, site, zone

SITE = (
    site()
    + "\n"
    + building("mairie", "Mairie")
    + zone("mairie", "bureaux", "Bureaux", relay="mairie-chauffage", sensors="mairie-t1")
)

RELAYS = """
[gpio.relays.mairie-chauffage]
pin = 17
[gpio.relays.cuisine-chauffage]
pin = 18
"""

KITCHEN = """
[buildings.mairie.zones.cuisine]
name = "Cuisine"
[buildings.mairie.zones.cuisine.heating]
relay = "cuisine-chauffage"
sensors = ["cuisine-t1"]
"""


def _warnings(text: str, tmp_path: Path) -> list[str]:
    file = tmp_path / "village.toml"
    file.write_text(text, encoding="utf-8")
    return [str(w).removeprefix(f"{tmp_path}/") for w in located(parse_config(text, file="village.toml"), file)]


def test_failsafe_off_is_reported_as_a_frost_risk_at_its_line(tmp_path: Path) -> None:
    text = SITE + 'outdoor_sensor = "exterieur"\nfailsafe = { mode = "off" }\n' + RELAYS
    (warning,) = _warnings(text, tmp_path)
    assert warning.startswith("village.toml:15: buildings.mairie.zones.bureaux.heating.failsafe.mode: frost risk")
    assert 'mode = "model"' in warning  # and what to write instead


def test_a_zone_without_outdoor_sensor_is_told_its_fail_safe_assumes_a_minus_10_night(tmp_path: Path) -> None:
    # Given the bureaux naming the site's outdoor thermometer and the kitchen naming none
    text = SITE + 'outdoor_sensor = "exterieur"\n' + KITCHEN + RELAYS
    (warning,) = _warnings(text, tmp_path)
    # Then the kitchen is reported, at its heating table, with the thermometer the site already has
    assert warning.startswith("village.toml:18: buildings.mairie.zones.cuisine.heating.outdoor_sensor: ")
    assert "-10 °C night" in warning
    assert 'add outdoor_sensor = "exterieur"' in warning


def test_a_sound_fail_safe_and_zones_without_one_draw_no_warning() -> None:
    text = SITE + 'outdoor_sensor = "exterieur"\n' + RELAYS
    assert heating_warnings(parse_config(text)) == []
    # pilot wire: the convectors keep their own thermostat; the "off" of a zone nobody heats by relay is moot
    pilot = SITE.replace('relay = "mairie-chauffage"', 'pilot_wire = { plus = "fp-plus", minus = "fp-minus" }')
    pilot += 'failsafe = { mode = "off" }\n[gpio.relays.fp-plus]\npin = 5\n[gpio.relays.fp-minus]\npin = 6\n'
    assert heating_warnings(parse_config(pilot)) == []


def test_check_config_prints_warnings_and_still_says_ok(tmp_path: Path) -> None:
    file = tmp_path / "village.toml"
    file.write_text(SITE + 'failsafe = { mode = "off" }\n' + RELAYS, encoding="utf-8")
    cmd = [sys.executable, "-m", "gateway.cli", "check-config", str(file)]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"warning: {file}:14: buildings.mairie.zones.bureaux.heating.failsafe.mode: frost")
    assert "OK" in result.stdout
    assert "1 warnings" in result.stdout


# ---- presence inputs: people detectors only (errors) ---------------------------------------------------------

INPUTS = """
[gpio.inputs.mairie-pir]
pin = 20
kind = "motion"
[gpio.inputs.mairie-porte]
pin = 21
kind = "contact"
[gpio.inputs.mairie-compteur]
pin = 22
kind = "pulse"
quantity = "water_m3"
scale = 0.001
"""


def test_presence_inputs_may_be_motion_detectors_and_door_contacts() -> None:
    text = SITE + 'presence = { inputs = ["mairie-pir", "mairie-porte"] }\n' + RELAYS + INPUTS
    assert parse_config(text).buildings["mairie"].zones["bureaux"].heating is not None


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("mairie-compteur", "input 'mairie-compteur' is a pulse, zone presence needs kind = \"motion\" (PIR) or"),
        ("mairie-chauffage", "no input 'mairie-chauffage' in [gpio.inputs] (it is a relay)"),
        ("mairie-pri", "no input 'mairie-pri' in [gpio.inputs]"),
    ],
)
def test_a_presence_input_that_is_no_people_detector_is_an_error_at_its_line(name: str, reason: str) -> None:
    text = SITE + f'presence = {{ inputs = ["mairie-pir", "{name}"] }}\n' + RELAYS + INPUTS
    with pytest.raises(ConfigError) as info:
        parse_config(text, file="village.toml")
    (problem,) = [str(p) for p in info.value.problems]
    assert problem.startswith(f"village.toml:14: buildings.mairie.zones.bureaux.heating.presence.inputs[1]: {reason}")
