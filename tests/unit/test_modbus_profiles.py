"""Meter profiles: the shipped files, unit conversion, markers, and errors in bad files."""

from __future__ import annotations

import math
import struct
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.modbus_profile import (
    CANONICAL_UNITS,
    COUNTER_QUANTITIES,
    FieldSpec,
    ProfileError,
    decode_field,
    encode_field,
    load_profile,
    parse_profile,
    profile_names,
)

SHIPPED = ["abb-b23", "countis-e23", "iem3155", "pulse-counter", "sdm120", "sdm630"]


def test_the_six_profiles_of_issue_2_are_shipped():
    assert sorted(profile_names()) == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_profile_names_its_source_and_uses_canonical_quantities(name):
    profile = load_profile(name)
    assert len(profile.source) > 40
    assert profile.numbering in {"zero-based", "one-based"}
    if name == "pulse-counter":
        assert profile.configurable
        return
    assert {f.name for f in profile.fields} <= set(CANONICAL_UNITS)
    assert {"power_w", "energy_import_kwh"} <= {f.name for f in profile.fields}


@pytest.mark.parametrize("name", SHIPPED)
def test_every_quantity_of_a_shipped_profile_has_a_plausible_range(name):
    profile = load_profile(name)
    names = sorted(COUNTER_QUANTITIES) if profile.configurable else [f.name for f in profile.fields]
    for quantity in names:
        low, high = profile.bounds.range_of(quantity)
        assert low < high
        if quantity.startswith(("energy_", "water_")):
            assert low == 0
            assert profile.bounds.rise_of(quantity) > 0
    if not profile.configurable:
        assert profile.bounds.range_of("frequency_hz") == (45, 65)
        assert profile.bounds.range_of("power_factor") == (-1, 1)
        assert profile.bounds.range_of("voltage_l1_v" if name != "sdm120" else "voltage_v")[0] == 0


@pytest.mark.parametrize(
    ("register", "power_factor"),
    [(0.8, 0.8), (-0.6, -0.6), (1.25, 0.75), (-1.25, -0.75), (2.0, 0.0), (1.0, 1.0)],
)
def test_iem3155_power_factor_register_holds_the_quadrant_and_becomes_a_power_factor(register, power_factor):
    # DOCA0005EN "Power factor register format": quadrant 4 as 1..2, quadrant 3 as -2..-1
    field = next(f for f in load_profile("iem3155").fields if f.name == "power_factor")
    (high, low) = struct.unpack(">HH", struct.pack(">f", register))
    value, reason = decode_field(field, [high, low])
    assert reason is None
    assert value == pytest.approx(power_factor, abs=1e-6)


def test_one_based_manual_numbers_become_wire_addresses():
    iem = {f.name: f for f in load_profile("iem3155").fields}
    assert iem["power_w"].address == 3059  # manual register 3060
    assert iem["energy_import_kwh"].address == 3203  # manual register 3204
    sdm = {f.name: f for f in load_profile("sdm630").fields}
    assert sdm["power_w"].address == 0x0034  # already a wire address


@pytest.mark.parametrize(
    ("profile", "quantity", "factor"),
    [
        ("iem3155", "power_w", Fraction(1000)),  # kW -> W
        ("iem3155", "energy_import_kwh", Fraction(1, 1000)),  # Wh -> kWh
        ("abb-b23", "energy_import_kwh", Fraction(1, 100)),  # 0.01 kWh
        ("abb-b23", "power_w", Fraction(1, 100)),  # 0.01 W
        ("countis-e23", "power_w", Fraction(10)),  # 0.01 kW -> W
        ("countis-e23", "current_l1_a", Fraction(1, 1000)),  # mA -> A
        ("sdm630", "power_w", Fraction(1)),
    ],
)
def test_profiles_convert_to_canonical_units_exactly(profile, quantity, factor):
    field = next(f for f in load_profile(profile).fields if f.name == quantity)
    assert field.factor == factor


def test_integer_energy_in_wh_becomes_exact_kwh():
    field = next(f for f in load_profile("iem3155").fields if f.name == "energy_import_kwh")
    assert decode_field(field, [0, 0, 0x00BC, 0x614E]) == (12345.678, None)  # 12 345 678 Wh


@pytest.mark.parametrize(
    ("reg_type", "marker", "registers"),
    [
        ("uint16", "all_ones", [0xFFFF]),
        ("uint32", "all_ones", [0xFFFF, 0xFFFF]),
        ("uint64", "all_ones", [0xFFFF] * 4),
        ("int16", "max_signed", [0x7FFF]),
        ("int32", "max_signed", [0x7FFF, 0xFFFF]),
        ("int64", "min_signed", [0x8000, 0, 0, 0]),
    ],
)
def test_not_available_markers_are_missing_values_not_numbers(reg_type, marker, registers):
    field = _field(reg_type, markers={marker})
    assert decode_field(field, registers) == (None, "not_available")


def test_a_marker_is_only_a_marker_when_declared():
    assert decode_field(_field("uint16"), [0xFFFF]) == (65535.0, None)


@pytest.mark.parametrize("registers", [[0x7FC0, 0], [0x7F80, 0], [0xFF80, 0], [0xFFC0, 0]])
def test_non_finite_floats_are_missing(registers):
    assert decode_field(_field("float32"), registers) == (None, "nonfinite")


def test_float32_values_come_out_as_their_shortest_decimal():
    assert decode_field(_field("float32"), [0x4366, 0x199A]) == (230.1, None)


def test_little_word_order_swaps_registers():
    field = _field("uint32", word_order="little")
    assert decode_field(field, [0x0002, 0x0001]) == (float(0x0001_0002), None)


@given(
    reg_type=st.sampled_from(["uint16", "int16", "uint32", "int32", "uint64", "int64"]),
    word_order=st.sampled_from(["big", "little"]),
    data=st.data(),
)
def test_encode_then_decode_gives_the_value_back(reg_type, word_order, data):
    bits = {"16": 16, "32": 32, "64": 64}[reg_type[-2:]]
    signed = reg_type.startswith("int")
    low, high = (-(2 ** (bits - 1)) + 1, 2 ** (bits - 1) - 2) if signed else (0, 2**bits - 2)
    raw = data.draw(st.integers(low, high))
    field = _field(reg_type, word_order=word_order, factor=Fraction(1, 100))
    value, reason = decode_field(field, encode_field(field, raw / 100))
    assert reason is None
    assert value == raw / 100


def test_pulse_counter_is_bound_to_the_devices_quantity_and_scale():
    profile = load_profile("pulse-counter").bind(quantity="water_m3", scale=0.001)
    (field,) = profile.fields
    assert field.name == "water_m3"
    assert decode_field(field, [0x0001, 0xE240]) == (123.456, None)  # 123 456 litres


@pytest.mark.parametrize(
    ("quantity", "scale", "message"),
    [
        (None, 0.001, "'quantity' must be one of"),
        ("gas_m3", 0.001, "'quantity' must be one of"),
        ("water_m3", None, "'scale'"),
        ("water_m3", 0.0, "'scale'"),
        ("water_m3", 1e300, "'scale' = 1e\\+300 water_m3 per count is implausible"),  # issue 12
        ("energy_import_kwh", 1e-9, "'scale' = 1e-09 energy_import_kwh per count is implausible"),
    ],
)
def test_pulse_counter_needs_a_known_quantity_and_a_positive_scale(quantity, scale, message):
    with pytest.raises(ProfileError, match=message):
        load_profile("pulse-counter").bind(quantity=quantity, scale=scale)


def test_other_profiles_refuse_quantity_and_scale():
    with pytest.raises(ProfileError, match="apply only to pulse-counter"):
        load_profile("sdm120").bind(quantity="water_m3", scale=1.0)


GOOD = """
name = "t"
description = "test"
source = "a test profile, nothing real"
numbering = "one-based"
[fields.power_w]
register = 1
unit = "kW"
[bounds]
power_w = [-1000, 1000]
"""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("[fields.power_w]", "[fields.puissance]"), "fields.puissance: not a canonical quantity"),
        (('unit = "kW"', 'unit = "kWh"'), "fields.power_w.unit: 'kWh' cannot give power_w"),
        (("register = 1", "register = 0"), "register 0 is outside the one-based range"),
        (('unit = "kW"', 'unit = "kW"\nnot_available = ["all_ones"]'), "float32 values use NaN"),
        (('unit = "kW"', 'unit = "kW"\nregistre = 3'), "fields.power_w.registre: Extra inputs"),
        (('unit = "kW"', 'unit = "kW"\ntype = "float64"'), "fields.power_w.type"),
        (('numbering = "one-based"', 'numbering = "1"'), "numbering"),
        # plausibility bounds are data the profile must give, sane and finite (issue 12)
        (("power_w = [-1000, 1000]", ""), "bounds.power_w: missing"),
        (("[bounds]\npower_w = [-1000, 1000]", ""), "bounds: missing"),
        (("power_w = [-1000, 1000]", "power_w = [1000, -1000]"), "bounds.power_w: the lower bound 1000 is not below"),
        (("power_w = [-1000, 1000]", "power_w = [-inf, inf]"), r"bounds.power_w\[0\]: Input should be a finite number"),
        (("power_w = [-1000, 1000]", "power_w = [0, 1]\nvoltage_v = [0, 300]"), "bounds.voltage_v: the profile has no"),
        (('unit = "kW"', 'unit = "kW"\nscale = 1e300'), "fields.power_w.scale: Input should be less than"),
        (('unit = "kW"', 'unit = "kW"\nscale = nan'), "fields.power_w.scale: Input should be a finite number"),
        (('unit = "kW"', 'unit = "kW"\nconvert = "four_quadrant_pf"'), "convert: 'four_quadrant_pf' applies to"),
        (("[bounds]", "[bounds]\nrise_per_hour = {power_w = 1}"), "bounds.rise_per_hour.power_w"),
    ],
)
def test_a_bad_profile_file_names_the_field_and_the_reason(change, message):
    assert parse_profile(GOOD, where="t.toml").fields[0].address == 0
    with pytest.raises(ProfileError, match=message) as err:
        parse_profile(GOOD.replace(*change), where="t.toml")
    assert str(err.value).startswith("t.toml: ")


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(ProfileError, match="unknown profile 'sdm999'; known: abb-b23"):
        load_profile("sdm999")


def _field(reg_type, *, markers=frozenset(), word_order="big", factor=Fraction(1)) -> FieldSpec:
    return FieldSpec(
        name="power_w",
        function="holding",
        address=0,
        type=reg_type,
        word_order=word_order,
        factor=factor,
        unit="W",
        not_available=frozenset(markers),
    )


def test_decode_rejects_a_wrong_register_count():
    with pytest.raises(ValueError, match="needs 2 registers"):
        decode_field(_field("float32"), [1])
    assert math.isfinite(decode_field(_field("int16"), [0x8000])[0])
