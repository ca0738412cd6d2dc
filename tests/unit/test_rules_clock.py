"""An untrusted clock (a Pi without RTC before NTP): the safe modes, whatever the wall time says.

Given ``State(clock_trusted=False)``, heating zones run at the site's safe mode (frost protection
and the stale-sensor fail-safe still apply), lighting follows a twilight switch or is off, and
bookings, overrides, schedules and leak hours are set aside — each reason says so.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.config import CircuitConfig, LightingSection
from rules.engine import decide
from rules.types import (
    Booking,
    InputState,
    LightOverride,
    Memory,
    ModelMemory,
    RelayState,
    ZoneMemory,
    shift_memory,
)
from tests.unit.rules_village import HALL, HOUR, MIN, SCHOOL, at, ns, site, state

FRIDAY_EVENING = at(2026, 1, 16, 20, 0)  # the hall's Friday slot (19:00–23:00): confort if trusted
BASE = at(2026, 1, 12, 0, 0)


def test_untrusted_clock_runs_the_hall_at_the_safe_mode_not_its_schedule() -> None:
    trusted = decide(site(), state(FRIDAY_EVENING, hall_c=17.0), FRIDAY_EVENING)
    hall = next(z for z in trusted.zones if z.zone == HALL)
    assert (hall.mode, hall.target_c, hall.occupied) == ("confort", 19.0, True)

    untrusted = decide(site(), replace(state(FRIDAY_EVENING, hall_c=17.0), clock_trusted=False), FRIDAY_EVENING)
    hall = next(z for z in untrusted.zones if z.zone == HALL)
    assert (hall.mode, hall.target_c, hall.occupied, hall.next_change_ns) == ("reduit", 16.0, False, None)
    assert untrusted.desired()["salle-chauffage"] is False  # 17 °C is above eco 16 − 0.3
    assert "horloge non fiable" in hall.reason.text("fr")
    assert "clock not trusted" in hall.reason.text("en")


def test_bookings_and_light_overrides_are_set_aside_while_untrusted() -> None:
    now = at(2026, 1, 14, 15, 0)  # a Wednesday afternoon, nothing scheduled
    booking = Booking(HALL, ns(now) - HOUR, ns(now) + 2 * HOUR, "confort", "Loto")
    light = LightOverride("place", ns(now) - HOUR, ns(now) + HOUR, True, "marché")
    base = state(now, hall_c=14.0, bookings=(booking,), light_overrides=(light,))
    assert decide(site(), base, now).desired()["salle-chauffage"] is True
    assert decide(site(), base, now).desired()["place-eclairage"] is True

    untrusted = decide(site(), replace(base, clock_trusted=False), now)
    hall = next(z for z in untrusted.zones if z.zone == HALL)
    assert hall.mode == "reduit"
    assert "Loto" not in hall.reason.text("fr")
    assert untrusted.desired()["place-eclairage"] is False
    place = next(c for c in untrusted.circuits if c.circuit == "place")
    assert place.reason.code == "light_clock_off"


def test_safe_heating_is_configurable_and_the_pilot_wire_gets_its_order() -> None:
    s = site(clock_safe_heating="hors_gel")
    decision = decide(s, replace(state(FRIDAY_EVENING), clock_trusted=False), FRIDAY_EVENING)
    school = next(z for z in decision.zones if z.zone == SCHOOL)
    assert school.mode == "hors_gel"
    assert (decision.desired()["ecole-fp-plus"], decision.desired()["ecole-fp-minus"]) == (False, True)


def test_frost_protection_still_heats_a_cold_hall_at_the_safe_mode() -> None:
    s = site(clock_safe_heating="hors_gel")
    decision = decide(s, replace(state(FRIDAY_EVENING, hall_c=6.0), clock_trusted=False), FRIDAY_EVENING)
    assert decision.desired()["salle-chauffage"] is True
    assert decision.action("salle-chauffage") is not None


def test_stale_sensor_fail_safe_still_applies_while_untrusted() -> None:
    now = FRIDAY_EVENING
    decision = decide(site(), replace(state(now, hall_c=18.0, age_min=60), clock_trusted=False), now)
    assert any(n.kind == "sensor_stale" and n.subject == HALL for n in decision.notices)
    action = decision.action("salle-chauffage")
    assert action is not None
    assert action.reason.code.startswith("heat_failsafe")


def test_lighting_follows_the_twilight_switch_when_the_circuit_has_one() -> None:
    lighting = LightingSection(
        circuits={"place": CircuitConfig(relay="place-eclairage", name="Place", dusk_input="place-crepuscule")}
    )
    noon = at(2026, 1, 14, 12, 0)  # daylight: the astronomical clock would say off
    for dark in (True, False):
        inputs = {"place-crepuscule": InputState(dark, ns(noon) - HOUR)}
        decision = decide(site(lighting=lighting), replace(state(noon, inputs=inputs), clock_trusted=False), noon)
        assert decision.desired()["place-eclairage"] is dark
        assert "crépusculaire" in decision.circuits[0].reason.text("fr")
    off = site(lighting=lighting, clock_safe_lighting="off")
    inputs = {"place-crepuscule": InputState(True, ns(noon) - HOUR)}
    assert (
        decide(off, replace(state(noon, inputs=inputs), clock_trusted=False), noon).desired()["place-eclairage"]
        is False
    )


def test_a_raised_leak_alarm_holds_its_valve_while_untrusted_and_nothing_new_is_counted() -> None:
    now = at(2026, 1, 14, 3, 0)
    memory = Memory(alarms=("leak:ecole-eau",))
    decision = decide(site(), replace(state(now, memory=memory), clock_trusted=False), now)
    assert decision.desired()["ecole-vanne"] is True  # closed
    assert decision.memory.alarms == ("leak:ecole-eau",)  # no "_end" event
    assert not decision.notices


@settings(max_examples=80, deadline=None)
@given(
    minutes=st.integers(min_value=0, max_value=14 * 24 * 60),
    hall_c=st.floats(min_value=12.0, max_value=24.0),
    booked=st.booleans(),
    safe=st.sampled_from(["confort", "reduit", "hors_gel", "arret"]),
)
def test_untrusted_means_the_safe_mode_whatever_the_schedule_or_bookings(
    minutes: int, hall_c: float, booked: bool, safe: str
) -> None:
    now = BASE + timedelta(minutes=minutes)
    bookings = (Booking(HALL, ns(now) - HOUR, ns(now) + HOUR, "confort", "Loto"),) if booked else ()
    s = site(clock_safe_heating=safe)
    decision = decide(s, replace(state(now, hall_c=hall_c, bookings=bookings), clock_trusted=False), now)
    for zone in decision.zones:
        assert zone.mode == safe
        assert not zone.occupied
        assert zone.next_change_ns is None
        assert zone.reason.param("source") == "clock"
    target = {"confort": 19.0, "reduit": 16.0, "hors_gel": 8.0, "arret": None}[safe]
    if target is None or hall_c > target + 0.3:  # never heats above the safe target + tolerance
        assert decision.desired()["salle-chauffage"] is False
    # the same inputs at any other wall time give the same zone decisions: nothing hinges on it
    later = now + timedelta(hours=37)
    other = decide(s, replace(state(later, hall_c=hall_c, bookings=bookings), clock_trusted=False), later)
    assert [(z.mode, z.target_c) for z in other.zones] == [(z.mode, z.target_c) for z in decision.zones]


def test_shift_memory_moves_measured_stamps_only() -> None:
    mem = Memory(
        zones={
            HALL: ZoneMemory(
                history=((10, 17.0), (20, 17.1)),
                model=ModelMemory(
                    rows=((3600, 17.0, 4.0, 1.0, 0.0),),
                    acc=(7200, 0.5, 8.5, 2.0, 0.5, 0.5, 0.0, 7300),
                    tm=16.0,
                    tm_ns=20,
                    fitted_to_ns=3600,
                ),
                trace=((15, 17.0, 1.0, 16.0),),
                window_stats=(1.0, 2.0, 0.0, 0.01, 1.0, 40),
                window_open_since_ns=7,
                preheat_for_ns=1000,
                max_on_since_ns=9,
                attended_ns=900,
            )
        }
    )
    moved = shift_memory(mem, -3).zones[HALL]
    assert moved.history == ((7, 17.0), (17, 17.1))
    assert moved.model.rows == ((3597, 17.0, 4.0, 1.0, 0.0),)  # the hourly log dates what happened
    assert moved.model.acc == (7197, 0.5, 8.5, 2.0, 0.5, 0.5, 0.0, 7297)
    assert (moved.model.tm_ns, moved.model.fitted_to_ns, moved.model.tm) == (17, 3597, 16.0)
    assert moved.attended_ns == 900  # an occupancy's start is wall time
    assert moved.trace == ((12, 17.0, 1.0, 16.0),)
    assert moved.window_stats == (1.0, 2.0, 0.0, 0.01, 1.0, 37)  # the quiet time after an occupancy change
    assert (moved.window_open_since_ns, moved.max_on_since_ns) == (4, 6)
    assert moved.preheat_for_ns == 1000  # a scheduled start is itself wall time
    assert shift_memory(mem, 0) is mem


def test_relay_timings_survive_a_backward_step_once_shifted() -> None:
    """The shell shifts a relay's since-time by the step: minimum on time still counts right."""
    now = FRIDAY_EVENING
    on_since = ns(now) - 2 * MIN  # on for 2 min (min_on 3)
    stepped_now = now - timedelta(hours=1)
    shifted = RelayState(True, on_since - HOUR)
    hot = state(stepped_now, hall_c=23.0, relays={"salle-chauffage": shifted})
    decision = decide(site(), hot, stepped_now)
    assert decision.action("salle-chauffage").reason.code == "heat_min_on"  # type: ignore[union-attr]
    later = stepped_now + timedelta(minutes=1, seconds=30)
    hot = state(later, hall_c=23.0, relays={"salle-chauffage": shifted})
    assert decide(site(), hot, later).desired()["salle-chauffage"] is False
