"""Bookings at a temperature, and the ``heater_max_on`` condition's start and end."""

from __future__ import annotations

import math

import pytest

from rules.config import HeatingConfig, Setpoints
from rules.engine import decide
from rules.types import Booking, Memory, RelayState, SensorValue, ZoneMemory
from tests.unit.rules_village import HALL, HOUR, MIN, SCHOOL, at, hall_heating, ns, site, state

WEDNESDAY = at(2026, 1, 14, 15, 0)  # nothing scheduled in the hall


def _hall(decision):  # type: ignore[no-untyped-def]
    return next(z for z in decision.zones if z.zone == HALL)


def test_a_booking_setpoint_replaces_the_modes_and_the_reason_says_so() -> None:
    booking = Booking(HALL, ns(WEDNESDAY) - HOUR, ns(WEDNESDAY) + HOUR, "reduit", "Réunion", setpoint_c=17.5)
    decision = decide(site(), state(WEDNESDAY, hall_c=17.0, bookings=(booking,)), WEDNESDAY)
    hall = _hall(decision)
    assert hall.target_c == 17.5
    assert hall.mode == "reduit"
    assert decision.desired()["salle-chauffage"] is True  # 17.0 <= 17.5 − 0.3
    fr, en = hall.reason.text("fr"), hall.reason.text("en")
    assert "consigne demandée 17,5 °C" in fr
    assert "Réunion" in fr
    assert "requested setpoint 17.5 °C" in en


@pytest.mark.parametrize(("asked", "applied"), [(25.0, 19.0), (3.0, 8.0), (18.2, 18.2)])
def test_a_booking_setpoint_is_kept_within_the_zones_bounds(asked: float, applied: float) -> None:
    booking = Booking(HALL, ns(WEDNESDAY) - HOUR, ns(WEDNESDAY) + HOUR, "confort", "x", setpoint_c=asked)
    assert _hall(decide(site(), state(WEDNESDAY, bookings=(booking,)), WEDNESDAY)).target_c == applied


def test_the_upper_bound_is_19_by_default_and_configurable() -> None:
    assert hall_heating().setpoint_bounds() == (8.0, 19.0)
    cfg = hall_heating(max_setpoint_c=21, setpoints={"confort": 21})
    assert cfg.setpoint_bounds() == (8.0, 21.0)
    with pytest.raises(ValueError, match="max_setpoint_c"):
        HeatingConfig.model_validate({"relay": "r", "sensors": ["t"], "max_setpoint_c": 6})


def test_non_finite_booking_setpoint_is_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        Booking(HALL, 0, 10, setpoint_c=math.nan)


def test_pilot_wire_gets_the_warmest_order_not_above_the_setpoint() -> None:
    assert [Setpoints().mode_for(t) for t in (19, 18.9, 16, 15.9, 5)] == [
        "confort",
        "reduit",
        "reduit",
        "hors_gel",
        "hors_gel",
    ]
    monday = at(2026, 1, 12, 20, 0)  # school closed: unoccupied
    booking = Booking(SCHOOL, ns(monday) - HOUR, ns(monday) + HOUR, "reduit", "Conseil", setpoint_c=17.0)
    decision = decide(site(), state(monday, bookings=(booking,)), monday)
    assert (decision.desired()["ecole-fp-plus"], decision.desired()["ecole-fp-minus"]) == (True, True)  # eco
    school = next(z for z in decision.zones if z.zone == SCHOOL)
    assert "consigne demandée 17 °C" in school.reason.text("fr")


# ---- heater_max_on: a condition with a start and an end ------------------------------------------------------

CFG = hall_heating(max_on_h=2, min_off_min=10, min_on_min=3)


def _tick(now_ns_offset: int, *, relay: RelayState, reading_ns: int, memory: Memory):  # type: ignore[no-untyped-def]
    now = WEDNESDAY
    t = ns(now) + now_ns_offset
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(t / 1e9, UTC)
    s = state(moment, hall_c=None, relays={"salle-chauffage": relay}, memory=memory)
    readings = dict(s.readings)
    readings[("salle-t1", "temperature_c")] = SensorValue(12.0, reading_ns)
    from dataclasses import replace
    from types import MappingProxyType

    booking = Booking(HALL, ns(now) - 5 * HOUR, ns(now) + 5 * HOUR, "confort", "Loto")
    return decide(site(hall=CFG), replace(s, readings=MappingProxyType(readings), bookings=(booking,)), moment)


def test_heater_max_on_lasts_until_the_heater_has_rested_its_minimum_off_time() -> None:
    start = ns(WEDNESDAY)
    on_since = start - 2 * HOUR  # on for max_on_h
    reading = start - 5 * MIN  # fresh enough (stale after 15 min), but no newer reading will come
    first = _tick(0, relay=RelayState(True, on_since), reading_ns=reading, memory=Memory())
    assert first.desired()["salle-chauffage"] is False
    assert [n.kind for n in first.notices] == ["heater_max_on"]
    # 30 s later: the relay is off since the cut; the condition holds (no new event, no end)
    off = RelayState(False, start)
    second = _tick(30 * 10**9, relay=off, reading_ns=reading, memory=first.memory)
    assert not second.notices
    assert "heater_max_on:" + HALL in second.memory.alarms
    assert second.memory.zones[HALL].max_on_since_ns == start
    # after min_off (10 min) without a fresher reading: it ends
    third = _tick(10 * MIN, relay=off, reading_ns=reading, memory=second.memory)
    assert [n.kind for n in third.notices] == ["heater_max_on_end"]
    assert third.memory.zones[HALL].max_on_since_ns is None


def test_heater_max_on_ends_when_a_fresh_reading_arrives() -> None:
    start = ns(WEDNESDAY)
    first = _tick(0, relay=RelayState(True, start - 2 * HOUR), reading_ns=start - MIN, memory=Memory())
    assert [n.kind for n in first.notices] == ["heater_max_on"]
    later = _tick(60 * 10**9, relay=RelayState(False, start), reading_ns=start + 30 * 10**9, memory=first.memory)
    assert [n.kind for n in later.notices] == ["heater_max_on_end"]


def test_heater_max_on_memory_survives_a_restart() -> None:
    start = ns(WEDNESDAY)
    memory = Memory(zones={HALL: ZoneMemory(max_on_since_ns=start)}, alarms=(f"heater_max_on:{HALL}",))
    again = _tick(MIN, relay=RelayState(False, start), reading_ns=start - 5 * MIN, memory=memory)
    assert not again.notices  # neither a repeated start nor an end


def test_optimum_start_preheats_towards_a_bookings_own_setpoint() -> None:
    # 18.5 °C asked from 20:00 (mode confort: occupied); at 16:00 the hall is at 12 °C (its model needs hours)
    evening = at(2026, 1, 14, 20, 0)
    booking = Booking(HALL, ns(evening), ns(evening) + 3 * HOUR, "confort", "Loto", setpoint_c=18.5)
    before = at(2026, 1, 14, 16, 0)
    decision = decide(site(), state(before, hall_c=12.0, bookings=(booking,)), before)
    hall = next(z for z in decision.zones if z.zone == HALL)
    assert hall.reason.param("source") == "preheat"
    assert hall.target_c == 18.5
    assert decision.desired()["salle-chauffage"] is True
