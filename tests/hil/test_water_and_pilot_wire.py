"""Stories of the school: a water leak seen by a GPIO pulse counter, convectors driven by fil pilote."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.hil.conftest import HALL, PARIS, running_village, village_config
from tests.support.village import building, gpio_input, relay, zone

pytestmark = pytest.mark.hil

SCHOOL = (
    "\n"
    + building("ecole", "École", kind="school")
    + zone("ecole", "classes", "Classes")
    + """[buildings.ecole.zones.classes.heating]
pilot_wire = { plus = "ecole-fp-plus", minus = "ecole-fp-minus" }
sensors = ["ecole-t1"]
schedule = [{ days = "mon-fri", start = "08:30", end = "16:30" }]
optimum_start = { enabled = false }
"""
    + relay("ecole-fp-plus", 22)
    + relay("ecole-fp-minus", 23)
    + relay("ecole-vanne", 12, label="Électrovanne arrivée d'eau")
    + gpio_input("ecole-eau", 6, kind="pulse", quantity="water_m3", scale=0.001, debounce_ms=10, building="ecole")
    + """[leaks.meters.ecole-eau]
nights = 2
valve_relay = "ecole-vanne"
close_valve = true
"""
)

PULSE_PIN, PLUS_PIN, MINUS_PIN, VALVE_PIN = 6, 22, 23, 12


@pytest.fixture
def school_config(tmp_path: Path) -> Any:
    return village_config(HALL.replace("[journal]", SCHOOL + "\n[journal]"), tmp_path)


def order(village: Any) -> str:
    plus, minus = village.pins.pin(PLUS_PIN).state, village.pins.pin(MINUS_PIN).state
    return {(False, False): "confort", (True, True): "eco", (False, True): "hors_gel", (True, False): "arret"}[
        (bool(plus), bool(minus))
    ]


async def test_a_leak_counted_on_a_pulse_input_closes_the_valve_until_acknowledged(school_config):
    # Given the school's water meter on a GPIO pulse input (1 pulse = 1 litre) and a valve relay, open
    start = datetime(2026, 11, 30, 12, 0, tzinfo=PARIS)
    async with running_village(school_config, start) as village:
        pulses = village.pins.pin(PULSE_PIN)
        assert village.pins.pin(VALVE_PIN).state is False
        # When a toilet cistern leaks: one litre every 30 minutes, day and night (each pulse 15 ms
        # long, longer than the 10 ms debounce, like a meter's reed contact; in real time no faster
        # than the meter's 60 m3/h, one litre every 60 ms, or the input takes them for noise)
        alarm_at = None
        for _ in range(2 * 40):  # 40 hours
            pulses.drive_high()
            await asyncio.sleep(0.015)
            pulses.drive_low()
            await asyncio.sleep(0.05)
            await village.advance(30, step_s=600)
            if alarm_at is None and any(e.kind == "leak" for e in village.events):
                alarm_at = village.now
        # Then the alarm is raised with its evidence, and the valve closes (its relay energised)
        assert alarm_at is not None, "no leak alarm after 40 hours of continuous flow"
        leak = next(e for e in village.events if e.kind == "leak")
        evidence = dict(leak.data)
        assert evidence["meter"] == "ecole-eau"
        assert leak.severity == "alarm"
        assert village.pins.pin(VALVE_PIN).state is True
        assert [a.kind for a in village.control.overview().alerts] == ["leak"]
        # And the counter the rules saw is the pulse total, journaled as a reading of the input
        counter = village.daemon.core.state.snapshot().value("ecole-eau", "water_m3")
        assert counter.value == pytest.approx(0.080)
        # When the plumber has fixed it and the agent acknowledges the alarm
        village.control.acknowledge_leak("ecole-eau", user="agent")
        # Then the valve opens again at once, and the audit log says who did it
        assert village.pins.pin(VALVE_PIN).state is False
        assert village.control.audit_log(1)[0].action == "acknowledge_leak"


async def test_the_school_convectors_receive_their_orders_on_the_pilot_wire(school_config):
    # Given Monday 07:00 after a weekend (more than 48 h unoccupied): the hors-gel order
    start = datetime(2026, 11, 30, 7, 0, tzinfo=PARIS)
    async with running_village(school_config, start) as village:
        await village.advance(2)
        assert order(village) == "hors_gel"
        # When class starts, the order is confort (no signal), and the classroom warms up by itself
        await village.until(datetime(2026, 11, 30, 8, 31, tzinfo=PARIS))
        assert order(village) == "confort"
        before = village.plant.zones["ecole/classes"].model.temperature_c
        await village.advance(60)
        assert village.plant.zones["ecole/classes"].model.temperature_c > before
        # And on a school night (16 h until tomorrow's class) the order is eco (both relays closed)
        await village.until(datetime(2026, 11, 30, 17, 0, tzinfo=PARIS), step_s=300)
        assert order(village) == "eco"
        reason = village.switches_of("ecole-fp-plus")[-1].reason
        assert "Fil pilote" in reason
        # And on Friday evening, before the weekend: hors-gel again
        await village.until(datetime(2026, 12, 4, 17, 0, tzinfo=PARIS), step_s=600)
        assert order(village) == "hors_gel"
