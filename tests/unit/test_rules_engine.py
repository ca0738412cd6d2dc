"""The whole engine as stories: Given a village, When a tick happens at ``now``, Then these outputs and reasons."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from rules import preheat, thermal, zone_model
from rules.engine import decide
from rules.reasons import TEMPLATES, render
from rules.types import (
    Booking,
    InputState,
    LightOverride,
    Memory,
    ModelMemory,
    Reason,
    RelayState,
    SensorValue,
    ZoneMemory,
    memory_from_json,
    memory_to_json,
)
from tests.unit.rules_village import HALL, HOUR, MIN, SCHOOL, at, hall_heating, ns, school_heating, site, state


def test_every_output_gets_an_action_with_a_reason_in_french_and_english() -> None:
    now = at(2026, 1, 13, 19, 0)
    decision = decide(site(), state(now), now)
    assert [a.output for a in decision.actions] == sorted(site().outputs())
    for action in decision.actions:
        assert action.reason.code in TEMPLATES
        assert "?" not in action.reason.text("fr"), action.reason
        assert "?" not in action.reason.text("en"), action.reason


def test_booking_heats_the_hall_and_says_why() -> None:
    # Given a Loto booked on Saturday 14:00–23:00 and the hall at 17.8 °C
    now = at(2026, 1, 17, 15, 0)
    loto = Booking(HALL, ns(at(2026, 1, 17, 14)), ns(at(2026, 1, 17, 23)), "confort", "Loto")
    decision = decide(site(), state(now, hall_c=17.8, bookings=(loto,)), now)
    # Then the heater is on, with the reason in plain words
    action = decision.action("salle-chauffage")
    assert action is not None
    assert action.on
    assert action.reason.text("fr") == (
        "Chauffage allumé : Salle des fêtes – Grande salle, confort 19 °C jusqu’à 23 h 00 "
        "(réservation « Loto »), mesuré 17,8 °C"
    )
    assert action.reason.text("en") == (
        "Heating on: Salle des fêtes – Grande salle, comfort 19 °C until 23:00 (booking 'Loto'), measured 17.8 °C"
    )
    status = decision.zones[0]
    assert (status.mode, status.occupied, status.target_c, status.measured_c) == ("confort", True, 19.0, 17.8)
    assert action.command().reason == action.reason.text("fr")


def test_optimum_start_preheats_before_occupancy_and_latches() -> None:
    # Given Tuesday 18:30 occupancy and the hall at 13 °C, its structure too (a fresh memory): the model's
    # lead (the generic prior, outdoors assumed 5 °C without a thermometer) sets the start
    cfg = hall_heating()
    lead_h = preheat.lead(cfg, zone_model.prior(cfg), thermal.Now(13.0, 13.0, zone_model.ASSUMED_OUTDOOR_C), 19.0)
    assert lead_h < cfg.optimum_start.max_preheat_h
    start = at(2026, 1, 13, 18, 30)
    early, late = start - timedelta(hours=lead_h, minutes=5), start - timedelta(hours=lead_h, minutes=-5)
    before = decide(site(), state(early, hall_c=13.0), early).zones[0]
    assert before.mode == "hors_gel"  # Fri 23:00 -> Tue: > 48 h
    assert before.model is not None
    assert before.model.lead_h == pytest.approx(lead_h, abs=0.01)
    decision = decide(site(), state(late, hall_c=13.0), late)
    zone = decision.zones[0]
    assert (zone.mode, zone.occupied, zone.reason.param("source")) == ("confort", False, "preheat")
    assert decision.memory.zones[HALL].preheat_for_ns == ns(start)
    assert "relance pour « Gym »" in zone.reason.text()
    # once begun, the preheat holds even if the estimate now says "later" (warmer than expected)
    warmer = late + timedelta(minutes=10)
    again = decide(site(), state(warmer, hall_c=18.0, memory=decision.memory), warmer)
    assert again.zones[0].mode == "confort"


def test_stale_sensor_trips_the_fail_safe_and_raises_one_event() -> None:
    now = at(2026, 1, 13, 19, 0)
    fresh = decide(site(), state(now, hall_c=17.0, age_min=1), now)
    assert fresh.notices == ()
    stale = decide(site(), state(now, hall_c=17.0, age_min=16, memory=fresh.memory), now)
    assert stale.action("salle-chauffage").reason.code.startswith("heat_failsafe")  # type: ignore[union-attr]
    kinds = [(n.kind, n.subject, n.severity) for n in stale.notices]
    assert kinds == [("sensor_stale", SCHOOL, "warning"), ("sensor_stale", HALL, "warning")]
    event = stale.events()[1]
    assert event.message.startswith("Température indisponible : Salle des fêtes – Grande salle")
    assert dict(event.data)["code"] == "sensor_stale"
    # the next tick, still stale: no repeated event; then back: one "end" event
    still = decide(site(), state(now, hall_c=17.0, age_min=17, memory=stale.memory), now)
    assert still.notices == ()
    back = decide(site(), state(now, hall_c=17.0, age_min=0, memory=still.memory), now)
    assert [(n.kind, n.subject) for n in back.notices] == [("sensor_stale_end", SCHOOL), ("sensor_stale_end", HALL)]


def test_non_finite_and_future_readings_count_as_missing() -> None:
    now = at(2026, 1, 13, 19, 0)
    nan = state(now, extra={("salle-t1", "temperature_c"): SensorValue(float("nan"), ns(now))})
    assert decide(site(), nan, now).zones[0].measured_c is None
    future = state(now, extra={("salle-t1", "temperature_c"): SensorValue(17.0, ns(now) + HOUR)})
    assert decide(site(), future, now).zones[0].measured_c is None


def test_window_contact_cuts_the_hall_and_the_pilot_wire_goes_to_frost_protection() -> None:
    now = at(2026, 1, 13, 19, 0)
    opened = {"salle-fenetre": InputState(True, ns(now) - 2 * MIN)}
    decision = decide(site(), state(now, hall_c=17.0, inputs=opened), now)
    action = decision.action("salle-chauffage")
    assert action is not None
    assert not action.on
    assert action.reason.code == "heat_window"
    assert [n.kind for n in decision.notices] == ["window_open"]
    # a school window detected by a fast drop: the pilot wire sends hors-gel (minus relay only)
    followed = ModelMemory(tm=18.8, tm_ns=ns(at(2026, 1, 12, 9, 27)), tm_since_ns=ns(at(2026, 1, 12, 2, 0)))
    memory = Memory(zones={SCHOOL: ZoneMemory(model=followed)})  # the structure followed since the night
    for i in range(32):  # held at 19 °C from 09:28, then falling 0.1 °C a minute from 09:48
        t = at(2026, 1, 12, 9, 28) + timedelta(minutes=i)
        temperature = 19.0 if i < 20 else 19.0 - 0.1 * (i - 20)
        memory = decide(site(), state(t, school_c=temperature, age_min=0, memory=memory), t).memory
    last = at(2026, 1, 12, 9, 59)
    decision = decide(site(), state(last, school_c=17.9, age_min=0, memory=memory), last)
    assert (decision.desired()["ecole-fp-plus"], decision.desired()["ecole-fp-minus"]) == (False, True)
    assert decision.action("ecole-fp-minus").reason.code == "pilot_window"  # type: ignore[union-attr]


def test_pilot_wire_follows_the_mode() -> None:
    school_day, night, weekend = at(2026, 1, 12, 10), at(2026, 1, 12, 23), at(2026, 1, 17, 12)
    levels = {}
    fixed = site(school=school_heating(optimum_start={"deep_setback": False}))  # the schedule's modes as they are
    for when in (school_day, night, weekend):
        d = decide(fixed, state(when, school_c=19.5), when).desired()
        levels[when] = (d["ecole-fp-plus"], d["ecole-fp-minus"])
    assert levels == {school_day: (False, False), night: (True, True), weekend: (False, True)}


def test_decide_depends_only_on_its_inputs_and_memory_survives_json() -> None:
    now = at(2026, 1, 13, 15, 10)
    first = decide(site(), state(now, hall_c=13.0, relays={"salle-chauffage": RelayState(True, ns(now) - HOUR)}), now)
    restored = memory_from_json(memory_to_json(first.memory))
    assert restored == first.memory
    later = at(2026, 1, 13, 15, 11)
    a = decide(site(), state(later, hall_c=13.1, memory=first.memory), later)
    b = decide(site(), state(later, hall_c=13.1, memory=restored), later)
    assert a == b
    assert memory_from_json("not json") == Memory()
    assert memory_from_json(None) == Memory()


def test_lighting_dusk_night_cut_presence_and_override() -> None:
    s = site()
    evening, noon, cut = at(2026, 1, 13, 20), at(2026, 1, 13, 12), at(2026, 1, 14, 1)
    assert decide(s, state(evening), evening).desired()["place-eclairage"] is True
    off = decide(s, state(noon), noon).circuits
    assert [c.reason.code for c in off if c.circuit == "place"] == ["light_off_daylight"]
    assert decide(s, state(cut), cut).desired()["place-eclairage"] is False
    # a motion edge 2 minutes ago keeps the place lit 5 minutes in the night cut
    moved = {"place-pir": InputState(False, ns(cut) - 2 * MIN)}
    lit = decide(s, state(cut, inputs=moved), cut)
    place = next(c for c in lit.circuits if c.circuit == "place")
    assert place.on
    assert place.reason.code == "light_on_presence"
    gone = {"place-pir": InputState(False, ns(cut) - 6 * MIN)}
    assert decide(s, state(cut, inputs=gone), cut).desired()["place-eclairage"] is False
    override = LightOverride("place", ns(cut) - MIN, ns(cut) + HOUR, True, "Fête")
    assert decide(s, state(cut, light_overrides=(override,)), cut).desired()["place-eclairage"] is True


def test_building_lighting_goes_off_one_hour_after_occupancy() -> None:
    s = site()
    during, after_30, after_61 = at(2026, 1, 13, 21), at(2026, 1, 13, 23, 0), at(2026, 1, 13, 23, 31)
    # the parvis uses the default night cut from 23:00: check occupancy alone with an early evening slot
    assert decide(s, state(during), during).desired()["salle-parvis"] is True
    assert decide(s, state(after_30), after_30).desired()["salle-parvis"] is False  # night cut
    quiet = at(2026, 1, 12, 20)  # Monday: the hall has not been used since Friday
    reason = next(c for c in decide(s, state(quiet), quiet).circuits if c.circuit == "parvis").reason
    assert reason.code == "light_off_unoccupied"
    assert "arrêté du 27 décembre 2018" in reason.text()
    assert after_61 > after_30


def test_leak_after_two_nights_of_trickle_closes_the_valve_with_evidence() -> None:
    s = site()
    memory = Memory()
    counter = 100.0
    events = []
    t0 = ns(at(2026, 1, 12, 0, 0))
    for minute in range(0, 3 * 24 * 60, 10):  # three days, a reading every 10 minutes
        now_ns = t0 + minute * MIN
        counter += 0.0005  # 3 l/h, day and night: a trickle
        from rules.schedule import from_ns
        from tests.unit.rules_village import PARIS

        now = from_ns(now_ns, PARIS)
        extra = {("ecole-eau", "water_m3"): SensorValue(round(counter, 4), now_ns)}
        d = decide(s, state(now, extra=extra, memory=memory), now)
        memory = d.memory
        events.extend(d.notices)
    leak = [n for n in events if n.kind == "leak"]
    assert len(leak) == 1
    assert leak[0].severity == "alarm"
    evidence = dict(leak[0].evidence)
    assert evidence["meter"] == "ecole-eau"
    assert evidence["flow_lph"] == 3.0
    assert d.desired()["ecole-vanne"] is True  # closed
    assert "Fuite d’eau probable" in leak[0].reason.text()


def test_no_leak_when_the_night_reaches_zero_and_ack_reopens_the_valve() -> None:
    s = site()
    memory = Memory()
    counter = 50.0
    t0 = ns(at(2026, 1, 12, 0, 0))
    from rules.schedule import from_ns
    from tests.unit.rules_village import PARIS

    for minute in range(0, 3 * 24 * 60, 10):
        now_ns = t0 + minute * MIN
        local = from_ns(now_ns, PARIS)
        if 7 <= local.hour < 18:
            counter += 0.01  # daytime use only
        d = decide(
            s, state(local, extra={("ecole-eau", "water_m3"): SensorValue(counter, now_ns)}, memory=memory), local
        )
        memory = d.memory
        assert not d.notices, d.notices
    assert d.desired()["ecole-vanne"] is False
    # an alarm acknowledged by a person clears the latch
    alarmed = memory.model_copy(
        update={"leaks": {"ecole-eau": memory.leaks["ecole-eau"].model_copy(update={"alarm_since_ns": 1})}}
    )
    now = from_ns(t0 + 3 * 24 * 60 * MIN, PARIS)
    assert decide(s, state(now, memory=alarmed), now).desired()["ecole-vanne"] is True
    acked = replace(state(now, memory=alarmed), leak_acks={"ecole-eau": 2})
    assert decide(s, acked, now).desired()["ecole-vanne"] is False


def test_unknown_codes_render_as_code_and_params() -> None:
    assert render(Reason.of("mystery", x=1)) == "mystery x=1"
    assert render(Reason.of("heat_on", zone="Z", mode="hors_gel", target=8.0), "en").startswith(
        "Heating on: Z, frost protection 8 °C"
    )


def test_naive_now_is_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="aware"):
        decide(site(), state(at(2026, 1, 13)), at(2026, 1, 13).replace(tzinfo=None))
