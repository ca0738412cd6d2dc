"""Plausibility: values outside a profile's bounds are rejected, counters never go back or leap."""

from __future__ import annotations

import pytest

from drivers.modbus_plausible import RESET_POLLS, Plausibility
from drivers.modbus_profile import load_profile

HOUR = 3600.0


def rejected(checked):
    return [(r.field, r.reason) for r in checked.rejections]


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("voltage_v", 3.4e38, "above_max"),
        ("voltage_v", -1.0, "below_min"),
        ("current_a", 1e6, "above_max"),
        ("power_w", -1e9, "below_min"),
        ("frequency_hz", 0.0, "below_min"),
        ("frequency_hz", 100.0, "above_max"),
        ("power_factor", 1.8, "above_max"),
        ("energy_import_kwh", -5.0, "below_min"),
        ("energy_export_kwh", 3.4e38, "above_max"),
    ],
)
def test_a_value_outside_the_profiles_bounds_is_rejected(field, value, reason):
    checked = Plausibility(load_profile("sdm120")).check(
        {field: value, "current_a" if field != "current_a" else "voltage_v": 1.0}, now=0.0
    )
    assert rejected(checked) == [(field, reason)]
    assert checked.values[field] is None


def test_plausible_values_pass_untouched_including_export_and_a_lost_phase():
    values = {"voltage_l1_v": 231.0, "voltage_l2_v": 0.0, "power_w": -2500.0, "power_factor": -0.95,
              "frequency_hz": 49.98, "energy_import_kwh": 1234.5}  # fmt: skip
    checked = Plausibility(load_profile("sdm630")).check(values, now=0.0)
    assert checked.values == values
    assert checked.rejections == []


def test_an_energy_counter_never_goes_back_nor_leaps():
    check = Plausibility(load_profile("sdm120"))  # at most 18 kWh per hour
    assert check.check({"energy_import_kwh": 1000.0}, now=0.0).rejections == []
    assert rejected(check.check({"energy_import_kwh": 999.0}, now=10.0)) == [("energy_import_kwh", "counter_back")]
    assert rejected(check.check({"energy_import_kwh": 1001.0}, now=10.0)) == [("energy_import_kwh", "counter_jump")]
    assert check.check({"energy_import_kwh": 1000.04}, now=10.0).rejections == []  # 14 kW for 10 s
    assert check.check({"energy_import_kwh": 1017.9}, now=HOUR).rejections == []  # about 18 kWh in the hour


def test_one_bad_counter_value_is_dropped_and_the_next_good_one_accepted():
    check = Plausibility(load_profile("sdm120"))
    check.check({"energy_import_kwh": 1000.0}, now=0.0)
    assert check.check({"energy_import_kwh": 5e7}, now=1.0).values["energy_import_kwh"] is None
    assert check.check({"energy_import_kwh": 1000.001}, now=2.0).values["energy_import_kwh"] == 1000.001


def test_a_counter_reset_is_accepted_once_it_holds_for_a_few_polls():
    check = Plausibility(load_profile("sdm120"))
    check.check({"energy_import_kwh": 5000.0}, now=0.0)
    outcomes = [check.check({"energy_import_kwh": 0.5 + i * 0.001}, now=1.0 + i) for i in range(RESET_POLLS)]
    assert [o.values["energy_import_kwh"] for o in outcomes[:-1]] == [None] * (RESET_POLLS - 1)
    assert outcomes[-1].values["energy_import_kwh"] == pytest.approx(0.5 + (RESET_POLLS - 1) * 0.001)
    assert outcomes[-1].resets == ["energy_import_kwh"]
    assert check.check({"energy_import_kwh": 0.503}, now=10.0).rejections == []


def test_scattered_garbage_never_counts_as_a_reset():
    check = Plausibility(load_profile("sdm120"))
    check.check({"energy_import_kwh": 5000.0}, now=0.0)
    for i, garbage in enumerate([1.0, 9e8, 3.0, 7e8, 2.0, 8e8]):
        assert check.check({"energy_import_kwh": garbage}, now=1.0 + i).resets == []


def test_a_pulse_counter_may_move_by_one_count():
    profile = load_profile("pulse-counter").bind(quantity="water_m3", scale=10.0)  # 10 m3 per pulse
    check = Plausibility(profile)
    check.check({"water_m3": 1000.0}, now=0.0)
    assert check.check({"water_m3": 1010.0}, now=1.0).rejections == []  # one pulse, whatever the rate
    assert rejected(check.check({"water_m3": 1030.0}, now=2.0)) == [("water_m3", "counter_jump")]


def test_a_profile_without_bounds_checks_nothing():
    from bench.modbus_poll import bench_profile

    checked = Plausibility(bench_profile()).check({"value_00": 3.4e38}, now=0.0)
    assert checked.rejections == []
