"""The simulated meters' model: counters only increase, power follows occupancy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from drivers.sim.meters import MeterModel, occupancy


def _t(day: int, hour: float) -> float:
    """27 Nov 2026 is a Friday; day 0 = Monday 23 Nov."""
    return datetime(2026, 11, 23 + day, tzinfo=UTC).timestamp() + hour * 3600


@pytest.mark.parametrize(
    ("kind", "weekday", "hour", "busy"),
    [
        ("office", 0, 3.0, 0.0),
        ("office", 0, 10.0, 1.0),
        ("office", 0, 12.75, 0.0),  # lunch
        ("office", 5, 10.0, 0.0),  # Saturday
        ("hall", 5, 20.0, 1.0),  # Saturday evening event
        ("church", 6, 10.5, 1.0),  # Sunday mass
        ("church", 2, 10.5, 0.0),
    ],
)
def test_occupancy_by_building_kind(kind, weekday, hour, busy):
    assert occupancy(hour, weekday, kind=kind) == busy


def test_power_follows_the_day_and_energy_only_increases():
    model = MeterModel(peak_w=6000.0, base_w=300.0, kind="office", seed=1)
    night = model.values(_t(0, 3.0))
    energies = [night["energy_import_kwh"]]
    for minute in range(0, 24 * 60, 15):
        energies.append(model.values(_t(0, 3.0) + 60 * minute)["energy_import_kwh"])
    day = model.values(_t(1, 10.0))
    assert night["power_w"] == pytest.approx(300.0)
    assert day["power_w"] > 5000.0
    assert energies == sorted(energies)
    # a day of a 6 kW office with a 300 W base load: between 24 h of base load and 24 h of peak
    assert 0.3 * 24 < energies[-1] - energies[0] < 6.0 * 24
    assert day["power_w"] == pytest.approx(day["power_l1_w"] + day["power_l2_w"] + day["power_l3_w"])
