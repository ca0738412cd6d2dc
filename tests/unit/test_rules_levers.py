"""Each sobriety lever as a story: Given a zone and a moment, When the engine decides, Then the lever acts
— and without it (switched off in the configuration) it does not. The energy each saves is measured in
bench/sobriety.py; here, that each does what it says."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from rules import preheat, thermal, zone_model
from rules.engine import decide
from rules.types import Booking, InputState, Memory, ModelMemory, RelayState, SensorValue, ZoneMemory
from tests.unit.rules_village import HALL, MIN, SCHOOL, at, hall_heating, ns, school_heating, site, state

TUESDAY_SLOT = at(2026, 1, 13, 18, 30)  # the hall's Tuesday slot, 18:30–22:30 ("Gym")


def _hall(decision):  # type: ignore[no-untyped-def]
    return next(z for z in decision.zones if z.zone == HALL)


def _with_structure(now: datetime, tm: float, key: str = HALL) -> Memory:
    """A memory whose model knows the structure's temperature (as after a day of observing)."""
    return Memory(zones={key: ZoneMemory(model=ModelMemory(tm=tm, tm_ns=ns(now) - MIN))})


# ---- optimum start: no silent cap ---------------------------------------------------------------------------


def test_a_lead_beyond_max_preheat_heats_from_the_cap_and_says_the_zone_will_be_late() -> None:
    cfg = hall_heating(optimum_start={"max_preheat_h": 2})
    s = site(hall=cfg)
    two_before = TUESDAY_SLOT - timedelta(hours=2)
    decision = decide(s, state(two_before, hall_c=9.0, memory=_with_structure(two_before, 9.0)), two_before)
    zone = _hall(decision)
    assert (zone.mode, zone.reason.param("source")) == ("confort", "preheat")
    late = [n for n in decision.notices if n.kind == "preheat_late"]
    assert len(late) == 1
    needed = preheat.lead(cfg, zone_model.prior(cfg), thermal.Now(9.0, 9.0, zone_model.ASSUMED_OUTDOOR_C), 19.0)
    assert late[0].reason.param("late_min") == pytest.approx((needed - 2) * 60, abs=3)
    assert "en retard" in late[0].reason.text("fr")
    # a minute earlier than the cap, nothing yet
    earlier = two_before - timedelta(minutes=5)
    assert _hall(decide(s, state(earlier, hall_c=9.0, memory=_with_structure(earlier, 9.0)), earlier)).mode != "confort"


# ---- setback depth ------------------------------------------------------------------------------------------


def test_a_reduit_night_cools_towards_hors_gel_when_the_recovery_fits() -> None:
    night = at(2026, 1, 13, 23, 30)  # Tuesday night: the next occupancy is Thursday 18:30 (réduit gap)
    deep = _hall(decide(site(), state(night, hall_c=18.0, memory=_with_structure(night, 18.0)), night))
    assert (deep.mode, deep.target_c, deep.reason.param("source")) == ("hors_gel", 8.0, "setback")
    shallow_site = site(hall=hall_heating(optimum_start={"deep_setback": False}))
    shallow = _hall(decide(shallow_site, state(night, hall_c=18.0), night))
    assert (shallow.mode, shallow.target_c) == ("reduit", 16.0)


def test_a_setback_holds_where_it_is_once_the_recovery_would_grow_too_long() -> None:
    cfg = hall_heating(optimum_start={"max_preheat_h": 3})
    night = at(2026, 1, 14, 10, 0)  # Wednesday: réduit gap until Thursday 18:30
    cold = _hall(decide(site(hall=cfg), state(night, hall_c=11.0, memory=_with_structure(night, 11.0)), night))
    assert (cold.mode, cold.target_c, cold.reason.param("source")) == ("reduit", 11.0, "setback")


# ---- optimum stop -------------------------------------------------------------------------------------------


def test_the_end_of_an_occupancy_coasts_on_a_warm_structure_and_the_thermostat_holds_the_floor() -> None:
    near_end = at(2026, 1, 13, 22, 0)  # 30 min before the Tuesday slot ends
    warm = _with_structure(near_end, 19.3)  # a structure warmed through the evening holds the air up
    heating = {"salle-chauffage": RelayState(True, ns(near_end) - 10 * MIN)}
    begins = decide(site(), state(near_end, hall_c=18.95, memory=warm, relays=heating), near_end)
    zone = _hall(begins)
    assert zone.target_c == 19.0  # the occupancy still asks 19 °C ...
    assert zone.reason.param("coast") is True  # ... but the zone coasts to the end on its structure
    assert "arrêt optimisé" in zone.reason.text("fr")
    assert begins.desired()["salle-chauffage"] is False  # a running heater stops at 18.95 °C, not 19.3 °C
    # without optimum stop it runs on to 19 + 0.3 °C
    plain = site(hall=hall_heating(optimum_start={"stop": False}))
    assert decide(plain, state(near_end, hall_c=18.95, memory=warm, relays=heating), near_end).desired()[
        "salle-chauffage"
    ]
    # at the thermostat's floor (19 − 0.3 °C) it heats again
    later = near_end + timedelta(minutes=10)
    floor = decide(site(), state(later, hall_c=18.65, memory=begins.memory), later)
    assert floor.desired()["salle-chauffage"] is True


def test_a_heater_stays_on_when_its_minimum_off_time_would_drop_a_cold_structures_air_below_the_floor() -> None:
    monday = at(2026, 1, 13, 19, 0)  # during the Tuesday slot
    heating = {"salle-chauffage": RelayState(True, ns(monday) - 20 * MIN)}
    cold = decide(site(), state(monday, hall_c=19.35, memory=_with_structure(monday, 11.0), relays=heating), monday)
    action = cold.action("salle-chauffage")
    assert action is not None
    assert (action.on, action.reason.code) == (True, "heat_on_hold")
    warm = decide(site(), state(monday, hall_c=19.35, memory=_with_structure(monday, 19.0), relays=heating), monday)
    assert warm.desired()["salle-chauffage"] is False  # a warm structure: the usual stop above 19.3 °C


def test_a_cold_structure_does_not_coast() -> None:
    near_end = at(2026, 1, 13, 22, 0)
    decision = decide(site(), state(near_end, hall_c=19.1, memory=_with_structure(near_end, 12.0)), near_end)
    assert _hall(decision).reason.param("coast") is None


# ---- presence -----------------------------------------------------------------------------------------------

PRESENT = hall_heating(presence={"inputs": ["salle-pir"], "no_show_min": 30})


def test_an_occupancy_nobody_attends_drops_to_reduit_after_no_show_min_and_says_why() -> None:
    s = site(hall=PRESENT)
    after = TUESDAY_SLOT + timedelta(minutes=31)
    quiet = {"salle-pir": InputState(False, ns(TUESDAY_SLOT) - 3 * 3600 * 10**9)}  # last movement hours ago
    decision = decide(s, state(after, hall_c=18.0, inputs=quiet), after)
    zone = _hall(decision)
    assert (zone.mode, zone.occupied, zone.reason.param("source")) == ("reduit", False, "no_show")
    notice = next(n for n in decision.notices if n.kind == "no_show")
    assert "personne" in notice.reason.text("fr").lower()
    # before no_show_min: still confort
    early = TUESDAY_SLOT + timedelta(minutes=20)
    assert _hall(decide(s, state(early, hall_c=18.0, inputs=quiet), early)).mode == "confort"
    # someone comes: confort again, and it stays (the occupancy is attended)
    came = {"salle-pir": InputState(True, ns(after) + MIN)}
    later = after + timedelta(minutes=2)
    back = decide(s, state(later, hall_c=17.5, inputs=came, memory=decision.memory), later)
    assert (_hall(back).mode, _hall(back).occupied) == ("confort", True)
    gone = {"salle-pir": InputState(False, ns(later) + MIN)}
    still = later + timedelta(minutes=40)
    assert _hall(decide(s, state(still, hall_c=18.0, inputs=gone, memory=back.memory), still)).mode == "confort"


def test_without_presence_sensors_every_occupancy_is_attended() -> None:
    after = TUESDAY_SLOT + timedelta(minutes=45)
    assert _hall(decide(site(), state(after, hall_c=18.0), after)).mode == "confort"


def test_a_booking_nobody_attends_drops_too() -> None:
    s = site(hall=PRESENT)
    saturday = at(2026, 1, 17, 14, 0)
    loto = Booking(HALL, ns(saturday), ns(saturday) + 6 * 3600 * 10**9, "confort", "Loto")
    after = saturday + timedelta(minutes=45)
    zone = _hall(decide(s, state(after, hall_c=18.0, bookings=(loto,)), after))
    assert (zone.mode, zone.reason.param("source"), zone.reason.param("label")) == ("reduit", "no_show", "Loto")


# ---- active uses --------------------------------------------------------------------------------------------


def test_an_active_use_gets_its_lower_confort() -> None:
    cfg = hall_heating(
        activities={"sport": 16.0},
        schedule=[{"days": "tue", "start": "18:30", "end": "22:30", "label": "Gym", "activity": "sport"}],
    )
    during = TUESDAY_SLOT + timedelta(hours=1)
    zone = _hall(decide(site(hall=cfg), state(during, hall_c=17.0), during))
    assert (zone.mode, zone.target_c, zone.occupied) == ("confort", 16.0, True)
    assert _hall(decide(site(), state(during, hall_c=17.0), during)).target_c == 19.0


def test_an_activity_the_zone_does_not_know_is_refused() -> None:
    with pytest.raises(ValueError, match="activity 'danse'"):
        hall_heating(schedule=[{"days": "tue", "start": "18:30", "end": "22:30", "activity": "danse"}])


# ---- local heating of people --------------------------------------------------------------------------------

PEWS = hall_heating(kind="people", sensors=[], people_lead_min=20, optimum_start={"enabled": False})


def test_pew_heaters_run_from_their_short_lead_to_the_end_of_the_occupancy() -> None:
    s = site(hall=PEWS)
    for when, on in (
        (TUESDAY_SLOT - timedelta(minutes=25), False),
        (TUESDAY_SLOT - timedelta(minutes=15), True),
        (TUESDAY_SLOT + timedelta(hours=2), True),
        (TUESDAY_SLOT + timedelta(hours=4, minutes=5), False),
    ):
        decision = decide(s, state(when, hall_c=None), when)
        assert decision.desired()["salle-chauffage"] is on, when
    code = decide(s, state(TUESDAY_SLOT, hall_c=None), TUESDAY_SLOT).action("salle-chauffage").reason.code  # type: ignore[union-attr]
    assert code == "people_on"


#: the same pews with the hall's thermometer: the lead follows the air (rules.people)
PEWS_SEEN = hall_heating(kind="people", people_lead_min=20, optimum_start={"enabled": False})


def _pews_on(when: datetime, hall_c: float, memory: Memory | None = None):  # type: ignore[no-untyped-def]
    decision = decide(site(hall=PEWS_SEEN), state(when, hall_c=hall_c, memory=memory), when)
    return decision.desired()["salle-chauffage"], decision


def test_pews_start_earlier_when_the_air_is_so_cold_that_they_need_longer_to_make_the_target_felt() -> None:
    # confort 19 °C; at 12.5 °C the seats must add 6.25 °C of their 7: about 54 min at full power
    assert _pews_on(TUESDAY_SLOT - timedelta(minutes=60), 12.5)[0] is False
    assert _pews_on(TUESDAY_SLOT - timedelta(minutes=50), 12.5)[0] is True
    # a warmer hall needs no more than the configured 20 min
    assert _pews_on(TUESDAY_SLOT - timedelta(minutes=25), 17.0)[0] is False
    assert _pews_on(TUESDAY_SLOT - timedelta(minutes=15), 17.0)[0] is True


def test_pews_once_on_stay_on_though_the_air_they_warm_shortens_the_lead() -> None:
    on, first = _pews_on(TUESDAY_SLOT - timedelta(minutes=50), 12.5)
    assert on is True
    # ten minutes later the air is at 14 °C: a lead of 27 min from here, but the pews keep going
    assert _pews_on(TUESDAY_SLOT - timedelta(minutes=40), 14.0, first.memory)[0] is True
    assert _pews_on(TUESDAY_SLOT - timedelta(minutes=40), 14.0)[0] is False  # (a fresh start would wait)


def test_pews_that_cannot_make_the_target_felt_keep_their_lead_and_say_how_cold_the_seats_will_be() -> None:
    # 8 °C + 7 °C at best = 15 °C felt, far under the comfort line (18.5 °C): more lead would buy nothing
    assert _pews_on(TUESDAY_SLOT - timedelta(minutes=25), 8.0)[0] is False
    assert _pews_on(TUESDAY_SLOT - timedelta(minutes=15), 8.0)[0] is True
    # 10 °C: 17 °C felt at best, 1.5 °C short: the longest useful lead (72 min), the air may still rise
    assert _pews_on(TUESDAY_SLOT - timedelta(minutes=75), 10.0)[0] is False
    on, decision = _pews_on(TUESDAY_SLOT - timedelta(minutes=65), 10.0)
    assert on is True
    short = [n for n in decision.notices if n.kind == "people_short"]
    assert [n.severity for n in short] == ["warning"]
    assert (short[0].reason.param("felt"), short[0].reason.param("air")) == (17.0, 10.0)
    assert "ressenti d’environ 17 °C" in short[0].reason.text("fr")
    # the alert lasts through the occupancy while the air stays too cold, and ends once it is not
    during, later = TUESDAY_SLOT + timedelta(hours=1), TUESDAY_SLOT + timedelta(hours=2)
    still = decide(site(hall=PEWS_SEEN), state(during, hall_c=10.5, memory=decision.memory), during)
    assert [n.kind for n in still.notices if n.kind.startswith("people_short")] == []  # (events on edges only)
    warmer = decide(site(hall=PEWS_SEEN), state(later, hall_c=13.0, memory=still.memory), later)
    assert [n.kind for n in warmer.notices if n.kind.startswith("people_short")] == ["people_short_end"]


# ---- the fail-safe follows the weather ----------------------------------------------------------------------

OUT = "exterieur"


def _silent(now: datetime, *, outdoor: float | None, memory: Memory, relay_on: bool = False):  # type: ignore[no-untyped-def]
    extra = {(OUT, "temperature_c"): SensorValue(outdoor, ns(now) - MIN)} if outdoor is not None else {}
    relays = {"salle-chauffage": RelayState(relay_on, ns(now) - 3600 * 10**9)}
    return state(now, hall_c=None, extra=extra, relays=relays, memory=memory)


def test_a_silent_thermometer_hands_over_to_the_model_which_holds_a_safe_temperature() -> None:
    cfg = hall_heating(outdoor_sensor=OUT)
    s = site(hall=cfg)
    now = at(2026, 1, 14, 3, 0)
    memory = Memory(
        zones={HALL: ZoneMemory(history=((ns(now) - 20 * MIN, 12.0),), model=ModelMemory(tm=12.0, tm_ns=ns(now) - MIN))}
    )
    decision = decide(s, _silent(now, outdoor=-7.0, memory=memory), now)
    action = decision.action("salle-chauffage")
    assert action is not None
    assert action.reason.code.startswith("heat_failsafe_model")
    zone = _hall(decision)
    assert zone.model is not None
    assert zone.model.estimated_c is not None
    stale = next(n for n in decision.notices if n.kind == "sensor_stale")
    assert "modèle" in stale.reason.text("fr")


def test_with_no_outdoor_temperature_either_the_fail_safe_holds_hors_gel_against_a_cold_night() -> None:
    s = site(hall=hall_heating())
    now = at(2026, 1, 14, 3, 0)
    memory = Memory(
        zones={HALL: ZoneMemory(history=((ns(now) - 20 * MIN, 9.0),), model=ModelMemory(tm=9.0, tm_ns=ns(now) - MIN))}
    )
    action = decide(s, _silent(now, outdoor=None, memory=memory), now).action("salle-chauffage")
    assert action is not None
    assert action.reason.param("target") == pytest.approx(8.0 + 1.5)


def test_a_pilot_wire_zone_whose_thermometer_died_still_preheats_on_the_models_lead() -> None:
    cfg = school_heating(optimum_start={"max_preheat_h": 8})
    s = site(school=cfg)
    monday = at(2026, 1, 12, 8, 30)
    before = monday - timedelta(hours=2)
    memory = Memory(
        zones={
            SCHOOL: ZoneMemory(
                history=((ns(before) - 40 * MIN, 11.0),), model=ModelMemory(tm=11.0, tm_ns=ns(before) - MIN)
            )
        }
    )
    decision = decide(s, state(before, school_c=None, memory=memory), before)
    school = next(z for z in decision.zones if z.zone == SCHOOL)
    assert (school.mode, school.reason.param("source")) == ("confort", "preheat")
    assert (decision.desired()["ecole-fp-plus"], decision.desired()["ecole-fp-minus"]) == (False, False)


# ---- arrivals: a zone found cold at arrival starts earlier next time -----------------------------------------


def _arrival(airs: list[float], factor: float = 1.0, before: list[float] | None = None) -> float:
    """Feed one occupancy's first minutes (one reading a minute from its start; ``before``: the readings of
    the minutes before it, in the zone's history) to rules.arrival; the factor after."""
    from rules import arrival

    start = ns(TUESDAY_SLOT)
    history = tuple((start - (len(before or []) - k) * MIN, v) for k, v in enumerate(before or []))
    watched, f = None, factor
    for minute, air in enumerate(airs):
        watched, f = arrival.watch(
            watched, f, since_ns=start, goal=19.0, measured=air, now_ns=start + minute * MIN, history=history
        )
    return f


def test_a_room_found_short_of_its_floor_at_arrival_lengthens_the_next_leads() -> None:
    from rules.arrival import JUDGE_BAND_C, JUDGED_MIN

    line = 19.0 - JUDGE_BAND_C
    # 0.7 °C short of the comfort line at arrival, warm a quarter of an hour later: people found it cold
    cold_start = [17.8 + 0.08 * m for m in range(15)] + [19.2] * 20
    assert _arrival(cold_start) == pytest.approx(1 + 1.0 * (line - sum(cold_start[:JUDGED_MIN]) / JUDGED_MIN), abs=1e-3)
    # on time: the factor shrinks back towards 1, never below
    assert _arrival([19.1] * 35, factor=1.5) == pytest.approx(1.5 * 0.97, abs=1e-3)
    assert _arrival([19.1] * 35) == 1.0
    # warm just as people walk in, cold the minutes before: the comfort line's 15-minute mean counts them
    mean = (5 * 17.6 + JUDGED_MIN * 19.1) / (5 + JUDGED_MIN)
    assert _arrival([19.1] * 35, before=[17.6] * 5) == pytest.approx(1 + (line - mean), abs=1e-3)


def test_a_room_warm_only_five_minutes_before_the_start_was_late_for_the_comfort_line() -> None:
    # at 18.0 °C until five minutes before, then 19.1 °C: the 15-minute mean at the start is 18.37 °C,
    # under the comfort line (18.5 °C) — an arrival judged on the last five minutes alone passed it
    before = [18.0] * 10 + [19.1] * 5
    assert _arrival([19.1] * 35, before=before) > 1.0


# ---- readiness: how warm the structure must be at arrival, learned from each occupancy ------------------------


def _occupancy(
    airs: list[float], *, u: float | None, gap: float | None = None, coast_from: int | None = None
) -> float | None:
    """One occupancy (one reading and tick a minute from its start, then its end) through rules.readiness;
    ``coast_from``: the minute the zone starts coasting to the end (optimum stop)."""
    from rules import readiness

    start = ns(TUESDAY_SLOT)
    watched, hist = None, ()
    for minute, air in enumerate(airs):
        t = start + minute * MIN
        hist = (*hist, (t, air))[-30:]
        coasting = coast_from is not None and minute >= coast_from
        watched, gap = readiness.watch(
            watched, gap, since_ns=start, goal=19.0, history=hist, u=u, now_ns=t, coasting=coasting
        )
    _, gap = readiness.watch(
        watched, gap, since_ns=None, goal=None, history=hist, u=None, now_ns=start + len(airs) * MIN
    )
    return gap


def test_an_occupancy_whose_air_sags_asks_a_warmer_structure_next_time() -> None:
    from rules import readiness

    # warm at arrival, then a class's ventilation pulls the air 0.6 °C under its target for half an hour
    sagging = [19.1] * 40 + [18.4] * 30 + [19.0] * 60
    assert _occupancy(sagging, u=1.0) == readiness.PRIOR_GAP_C - readiness.TIGHTEN_C
    assert _occupancy(sagging, u=1.0, gap=2.5) == readiness.MIN_GAP_C
    # coasting to the end on the structure (optimum stop): the thermostat holds a lower floor on purpose
    coasting = [19.1] * 90 + [18.6] * 40
    assert _occupancy(coasting, u=1.0, coast_from=85) == readiness.PRIOR_GAP_C + readiness.RELAX_C
    assert _occupancy(coasting, u=1.0) == readiness.PRIOR_GAP_C - readiness.TIGHTEN_C


def test_an_occupancy_held_with_power_to_spare_lets_the_structure_be_colder_next_time() -> None:
    from rules import readiness

    held = [19.1, 18.9] * 60
    assert _occupancy(held, u=0.4) == readiness.PRIOR_GAP_C + readiness.RELAX_SPARE_C
    assert _occupancy(held, u=1.0) == readiness.PRIOR_GAP_C + readiness.RELAX_C  # no power to spare
    assert _occupancy(held, u=None) == readiness.PRIOR_GAP_C + readiness.RELAX_C  # fil pilote: unknown
    assert _occupancy(held, u=0.4, gap=9.9) == readiness.MAX_GAP_C
    assert _occupancy([18.0] * 30, u=1.0) == readiness.PRIOR_GAP_C  # under an hour (a no-show): nothing learned


def test_the_learned_gap_sets_how_long_a_cold_structure_is_warmed_before_arrival() -> None:
    cfg = hall_heating()
    cold = thermal.Now(12.0, 11.0, 2.0)
    p = zone_model.prior(cfg)
    strict, loose = preheat.lead(cfg, p, cold, 19.0, gap=2.0), preheat.lead(cfg, p, cold, 19.0, gap=8.0)
    assert strict > loose + 1.0  # hours of structure warming the strict gap asks
    assert preheat.lead(cfg, p, cold, 19.0) == preheat.lead(cfg, p, cold, 19.0, gap=4.0)  # the prior
