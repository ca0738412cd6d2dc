"""Stories of the salle des fêtes, told to the real daemon on MockFactory pins and a simulated hall."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from tests.hil.conftest import (
    HEATER_PIN,
    PARIS,
    PARVIS_PIN,
    PRESENCE_PIN,
    WINDOW_PIN,
    Village,
    running_village,
)

pytestmark = pytest.mark.hil


async def test_relays_are_at_their_boot_state_before_any_service_runs(hall_config):
    # Given a daemon built on MockFactory pins, the heater board being active-low
    start = datetime(2026, 11, 28, 10, 0, tzinfo=PARIS)
    async with running_village(hall_config, start) as village:
        # Then the heater pin is HIGH (coil released) and the light pin LOW, as declared (boot = "off")
        assert village.pins.pin(HEATER_PIN).state is True
        assert village.pins.pin(PARVIS_PIN).state is False
        # and the control service was the first one prepared and started
        assert village.daemon.services[0].name == "control"


async def test_a_booking_warms_the_hall_in_time_with_optimum_start(village: Village):
    # Given the unoccupied hall at 12 °C on Saturday morning, held at hors-gel
    assert village.hall_temperature() == pytest.approx(12.0, abs=0.5)
    await village.advance(5)
    assert not village.heater_energised()
    assert village.zone().mode == "hors_gel"
    # When the secretary books it for tonight, 18:00-23:00 ("Loto")
    start = datetime(2026, 11, 28, 18, 0, tzinfo=PARIS)
    village.book("Loto", hours=5, start=start)
    # Then the heater does not start at once (the booking is hours away) ...
    await village.advance(5)
    assert not village.heater_energised()
    # ... it starts early enough (optimum start) and the hall is at comfort when people arrive
    await village.until(start)
    switched_on = [s for s in village.switches_of("salle-chauffage") if s.on]
    assert switched_on, "the heater never started"
    first = switched_on[0]
    assert first.at < start - timedelta(hours=1)
    assert first.at > datetime(2026, 11, 28, 10, 10, tzinfo=PARIS)
    assert "relance pour « Loto »" in first.reason  # optimum start, named after the booking
    assert village.hall_temperature() >= 19.0 - 0.5
    status = village.zone()
    assert (status.mode, status.target_c) == ("confort", 19.0)
    # And after the event the hall is let cool again
    await village.until(start + timedelta(hours=5, minutes=10))
    assert not village.heater_energised()


async def test_an_open_window_cuts_the_heating(village: Village):
    # Given the hall being heated for a booking now
    village.book("Répétition", hours=4)
    await village.advance(5)
    assert village.heater_energised()
    # When someone opens the window (reed switch opens: the pin goes high)
    village.pins.pin(WINDOW_PIN).drive_high()
    await village.settle()
    # Then the heater stops at once (past its minimum on time) and the reason says why
    await village.advance(1)
    assert not village.heater_energised()
    off = village.switches_of("salle-chauffage")[-1]
    assert not off.on
    assert "fenêtre" in off.reason.lower()
    assert village.zone().window_open
    assert any(e.kind == "window_open" for e in village.events)
    # And when it is closed again, heating resumes
    village.pins.pin(WINDOW_PIN).drive_low()
    await village.settle()
    await village.advance(5)
    assert village.heater_energised()


async def test_a_motion_edge_lights_the_parvis_inside_the_night_cut(hall_config):
    # Given a winter night at 01:00, inside the 23:00-05:00 night cut: the parvis is dark
    start = datetime(2026, 11, 29, 1, 0, tzinfo=PARIS)
    async with running_village(hall_config, start) as village:
        await village.advance(1)
        assert not village.parvis_lit()
        # When the presence detector sees someone (its output goes high)
        village.pins.pin(PRESENCE_PIN).drive_high()
        await village.settle()
        # Then the parvis lights at once, without waiting for a tick, with the presence as reason
        assert village.parvis_lit()
        lit = village.switches_of("salle-parvis")[-1]
        assert lit.on
        assert "présence détectée (salle-presence)" in lit.reason
        # And it goes dark again after the hold (5 min) once nobody is there
        village.pins.pin(PRESENCE_PIN).drive_low()
        await village.settle()
        await village.advance(3)
        assert village.parvis_lit()
        await village.advance(4)
        assert not village.parvis_lit()


async def test_a_stale_sensor_trips_the_fail_safe(village: Village):
    # Given the hall heating for a booking
    village.book("Loto", hours=6)
    await village.advance(5)
    assert village.heater_energised()
    # When the thermometer's battery dies (no more readings)
    village.plant.silence("salle-thermo")
    # Then within the fail-safe delay (15 min) the heater is off (failsafe mode "off"), never kept on the
    # last value, an event tells the agent, and the zone shows stale
    await village.advance(17)
    assert not village.heater_energised()
    assert any(e.kind == "sensor_stale" and e.subject == "salle/grande_salle" for e in village.events)
    assert village.zone().stale
    off = village.switches_of("salle-chauffage")[-1]
    assert not off.on
    # And it stays off while the sensor is silent
    await village.advance(30)
    assert not village.heater_energised()
    # And when readings come back, heating resumes and the alarm ends
    village.plant.silence("salle-thermo", False)
    await village.advance(5)
    assert village.heater_energised()
    assert any(e.kind == "sensor_stale_end" for e in village.events)


async def test_a_relay_flipped_behind_the_daemons_back_is_put_back(village: Village):
    # Given the unoccupied hall, heater off
    await village.advance(2)
    assert not village.heater_energised()
    # When someone forces the relay on (the pin driven low on the active-low board)
    village.pins.pin(HEATER_PIN).state = False
    assert village.heater_energised()
    # Then the next evaluation (here: the next sensor reading) puts it back, says so and counts it
    await village.advance(1)
    assert not village.heater_energised()
    back = village.switches_of("salle-chauffage")[-1]
    assert not back.on
    assert "remis en place" in back.reason
    metrics = village.daemon.metrics
    assert metrics.get("gateway_relay_putback_total", relay="salle-chauffage") == 1


async def test_a_change_through_the_facade_applies_at_once_and_persists(hall_config):
    start = datetime(2026, 11, 28, 10, 0, tzinfo=PARIS)
    async with running_village(hall_config, start) as village:
        village.book("Ménage", hours=2, user="agent")
        # applies at once: the zone's target changed and the heater is on before any time passed
        assert village.zone().target_c == 19.0
        assert village.heater_energised()
    # after a restart (same state dir) the booking is still there and still heats
    async with running_village(hall_config, start + timedelta(minutes=10)) as village:
        await village.advance(1)
        assert village.zone().mode == "confort"
        # the stop put the heater to its boot state (off) ten minutes ago, a switch recorded with the
        # memory: its minimum off time (3 min) has passed, so the booking heats again at once
        assert village.heater_energised()
        switches = village.switches_of("salle-chauffage")
        assert switches[-1].on
        assert [e.user for e in village.control.audit_log()] == ["agent"]


async def test_a_booking_from_the_web_thread_is_applied_in_the_loop_before_the_call_returns(village: Village):
    # Given the daemon running, and the admin page calling from one of waitress's threads
    await village.advance(2)
    assert not village.heater_energised()

    def web_thread() -> tuple[bool, float | None]:
        village.book("Réunion", hours=3)
        # what the page shows right after the redirect
        return village.heater_energised(), village.control.zone("salle", "grande_salle").status.target_c

    # When the agent books the hall now
    energised, target = await asyncio.to_thread(web_thread)
    # Then the change was marshalled into the loop, the rules re-evaluated and the relay switched
    # before the call returned: the page never shows a stale target
    assert (energised, target) == (True, 19.0)
    assert village.switches_of("salle-chauffage")[-1].on
