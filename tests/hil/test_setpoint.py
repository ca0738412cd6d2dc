"""A booking at a temperature, end to end: façade -> settings store -> rules -> relay (mock pins, simulated hall)."""

from __future__ import annotations

from datetime import timedelta

from tests.hil.conftest import Village


async def test_a_setpoint_booking_heats_to_that_temperature_and_says_so(village: Village):
    village.plant.set_temperature("salle/grande_salle", 15.0)
    village.control.add_override(
        "salle", "grande_salle", setpoint_c=17.0, end=village.now + timedelta(hours=6), label="Réunion", user="m"
    )
    status = village.zone()
    assert status.target_c == 17.0
    assert "consigne demandée 17 °C" in status.reason
    assert "Réunion" in status.reason
    assert village.heater_energised()
    # warmed past 17 + 0.3: off, and the reason still names the asked setpoint
    while village.hall_temperature() <= 17.4:
        await village.advance(5)
    await village.advance(5)
    assert not village.heater_energised()
    assert "consigne demandée 17 °C" in village.switches_of("salle-chauffage")[-1].reason
