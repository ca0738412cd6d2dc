"""The [gpio] section: boot states, pins used once, and the names the rules use checked against it."""

from __future__ import annotations

import pytest

from gateway.config import load_config, parse_config
from gateway.errors import ConfigError
from tests.support.village import building, gpio_input, lighting_circuit, relay, site, zone

SITE = "\n" + site("t", "T") + building("salle", "Salle") + zone("salle", "grande_salle", "Grande salle")


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
    text = (
        """
[buildings.salle.zones.grande_salle.heating]
relay = "salle-chauffage"
sensors = ["t1"]
window = { contacts = ["salle-pir"] }
"""
        + relay("salle-chauffaje", 17)
        + gpio_input("salle-pir", 5, kind="motion")
        + lighting_circuit("parvis", relay="salle-pir", presence=["nope"])
    )
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


# ---- pulse inputs: bounded, finite numbers and a plausible rate (issue 12) --------------------------------------
PULSE = "[gpio.inputs.eau]\npin = 6\nkind = 'pulse'\nquantity = 'water_m3'\nbuilding = 'salle'\n"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("scale = 1e300", "v.toml:16: gpio.inputs.eau.scale: Input should be less than or equal to 1000"),
        ("scale = inf", "v.toml:16: gpio.inputs.eau.scale: Input should be a finite number"),
        ("scale = nan", "v.toml:16: gpio.inputs.eau.scale: Input should be a finite number"),
        ("scale = 1e-9", "v.toml:16: gpio.inputs.eau.scale: Input should be greater than or equal to 0.000001"),
        ("debounce_ms = nan", "v.toml:16: gpio.inputs.eau.debounce_ms: Input should be a finite number"),
        ("rise_per_hour = inf", "v.toml:16: gpio.inputs.eau.rise_per_hour: Input should be a finite number"),
        ("rise_per_hour = 0", "v.toml:16: gpio.inputs.eau.rise_per_hour: Input should be greater than 0"),
        ("rise_per_hour = 1e300", "v.toml:16: gpio.inputs.eau.rise_per_hour: Input should be less than or equal to 1000000"),
    ],
)
def test_a_pulse_inputs_numbers_are_finite_and_bounded(extra, expected):
    assert problems(PULSE + extra + "\n") == [expected]


def test_a_pulse_input_of_an_unknown_quantity_must_say_how_fast_it_may_rise():
    assert problems(PULSE.replace("water_m3", "gas_m3")) == [
        "v.toml:11: gpio.inputs.eau.rise_per_hour: required for quantity 'gas_m3': the most it may rise in an hour, "
        "in its unit (pulses faster than that are implausible; defaults exist for energy_export_kwh, "
        "energy_import_kwh, water_m3)"
    ]
    config = parse_config(SITE + PULSE.replace("water_m3", "gas_m3") + "scale = 0.01\nrise_per_hour = 6\n")
    assert config.gpio.inputs["eau"].max_pulse_rate_hz == pytest.approx(6 / 0.01 / 3600)


def test_a_debounce_that_would_swallow_pulses_at_full_rate_is_refused():
    # 1 L per pulse and 60 m3/h (the default for water): up to 16.7 pulses a second, one every 60 ms;
    # a 40 ms debounce needs 80 ms per pulse (two edges): pulses at full flow would be lost as bounces
    text = PULSE + "scale = 0.001\ndebounce_ms = 40\n"
    assert problems(text) == [
        "v.toml:17: gpio.inputs.eau.debounce_ms: 40 ms ignores pulses coming faster than 12.5 per second, but "
        "rise_per_hour = 60 at scale 0.001 means up to 16.7 per second: at full rate pulses would be lost as "
        "bounces (at most 30 ms, or a lower rise_per_hour)"
    ]
    parse_config(SITE + text.replace("debounce_ms = 40", "debounce_ms = 30"))
    parse_config(SITE + text + "rise_per_hour = 5\n")  # a DN20 meter: 1.4 pulses a second


def test_rise_per_hour_belongs_to_pulse_inputs():
    text = "[gpio.inputs.pir]\npin = 5\nkind = 'motion'\nrise_per_hour = 3\n"
    assert problems(text) == ['v.toml:14: gpio.inputs.pir.rise_per_hour: only applies to kind = "pulse"']


def test_the_default_rates_are_the_modbus_pulse_counters():
    """One source of truth in spirit: a GPIO pulse input and a Modbus pulse counter of the same meter
    accept the same rise per hour."""
    from drivers.modbus_profile import FAMILIES, SCALE_RANGE, load_profile
    from gateway.schema.gpio import DEFAULT_RISE_PER_HOUR, PULSE_SCALE_RANGE

    bounds = load_profile("pulse-counter").bounds
    assert {q: bounds.rise_per_hour[FAMILIES[q]] for q in DEFAULT_RISE_PER_HOUR} == DEFAULT_RISE_PER_HOUR
    assert PULSE_SCALE_RANGE == SCALE_RANGE
    config = parse_config(SITE + PULSE + "scale = 0.001\n")
    assert config.gpio.inputs["eau"].max_pulse_rate_hz == pytest.approx(60 / 0.001 / 3600)

