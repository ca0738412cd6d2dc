"""The [gpio] section: boot states, pins used once, and the names the rules use checked against it."""

from __future__ import annotations

import pytest

from gateway.config import load_config, parse_config
from gateway.errors import ConfigError

SITE = """
[site]
id = "t"
name = "T"
latitude = 47.39
longitude = 0.98
[buildings.salle]
name = "Salle"
[buildings.salle.zones.grande_salle]
name = "Grande salle"
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(SITE + text, file="v.toml")
    return [str(p) for p in info.value.problems]


def test_relays_default_to_off_and_active_high():
    config = parse_config(SITE + "[gpio.relays.r]\npin = 17\n")
    relay = config.gpio.relays["r"]
    assert (relay.boot, relay.active_high) == ("off", True)


def test_the_example_village_names_only_existing_relays_and_inputs():
    config = load_config("examples/village.toml")
    assert config.gpio.relays["salle-chauffage"].active_high is False
    assert config.gpio.inputs["salle-fenetre"].kind == "contact"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[gpio.relays.r]\npin = 40\n", "gpio.relays.r.pin: Input should be less than or equal to 27"),
        ("[gpio.relays.r]\npin = 17\nboot = 'maybe'\n", "gpio.relays.r.boot"),
        ("[gpio.relays.r]\npin = 17\n[gpio.inputs.i]\npin = 17\nkind = 'motion'\n", "pin 17 is already used"),
        ("[gpio.inputs.i]\npin = 5\nkind = 'pulse'\n", "a pulse input needs 'quantity'"),
        ("[gpio.inputs.i]\npin = 5\nkind = 'door'\n", "gpio.inputs.i.kind"),
        ("[gpio.relays.r]\npin = 17\nbuilding = 'eglise'\n", "gpio.relays.r.building: unknown building 'eglise'"),
        ("[gpio.relays.r]\npin = 17\nbuilding = 'salle'\nzone = 'cuisine'\n", "unknown zone 'cuisine' in 'salle'"),
        ("[gpio.relays.r]\npin = 17\nwatt = 3\n", "gpio.relays.r.watt: unknown key (typo?)"),
    ],
)
def test_bad_gpio_entries_are_located_and_explained(text, expected):
    assert any(expected in p for p in problems(text)), problems(text)


def test_heating_and_lighting_must_name_existing_relays_and_inputs_of_the_right_kind():
    text = """
[buildings.salle.zones.grande_salle.heating]
relay = "salle-chauffage"
sensors = ["t1"]
window = { contacts = ["salle-pir"] }
[gpio.relays.salle-chauffaje]
pin = 17
[gpio.inputs.salle-pir]
pin = 5
kind = "motion"
[lighting.circuits.parvis]
relay = "salle-pir"
presence = ["nope"]
"""
    found = problems(text)
    assert any(
        "buildings.salle.zones.grande_salle.heating.relay: no relay 'salle-chauffage' in [gpio.relays]" in p
        for p in found
    ), found
    assert any(
        "window.contacts[0]: input 'salle-pir' is a motion, a window needs kind = \"contact\"" in p for p in found
    ), found
    assert any(
        "lighting.circuits.parvis.relay: no relay 'salle-pir' in [gpio.relays] (it is an input)" in p for p in found
    ), found
    assert any("lighting.circuits.parvis.presence[0]: no input 'nope'" in p for p in found), found
    # every problem carries the file and its line
    assert all(p.startswith("v.toml:") for p in found)
