"""Properties of the pure engine, checked by hypothesis over many generated situations."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.engine import decide
from rules.schedule import from_ns
from rules.types import Memory, RelayState, SensorValue, memory_from_json, memory_to_json
from tests.unit.rules_village import HALL, MIN, NS, PARIS, at, hall_heating, ns, site, state

SITE = site()
HALL_CFG = SITE.zones[0].heating
WEEK_START = ns(at(2026, 1, 12))
# instants over a January week and over both 2026 DST change days
INSTANTS = st.one_of(
    st.integers(WEEK_START, WEEK_START + 7 * 24 * 3600 * NS),
    st.integers(ns(at(2026, 3, 28, 12)), ns(at(2026, 3, 30, 12))),
    st.integers(ns(at(2026, 10, 24, 12)), ns(at(2026, 10, 26, 12))),
)
TEMPS = st.floats(min_value=-5.0, max_value=30.0, allow_nan=False)
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(
    now_ns=INSTANTS,
    temp=TEMPS,
    relay_on=st.booleans(),
    held_min=st.one_of(st.none(), st.floats(0, 600)),
    age_min=st.floats(0, 60),
)
def test_never_heats_above_target_plus_tolerance(
    now_ns: int, temp: float, relay_on: bool, held_min: float | None, age_min: float
) -> None:
    """A heater asked to be on while the fresh temperature is above target + hot tolerance is only ever
    one held by its minimum on time."""
    now = from_ns(now_ns, PARIS)
    since = None if held_min is None else now_ns - int(held_min * MIN)
    s = state(now, hall_c=temp, age_min=age_min, relays={"salle-chauffage": RelayState(relay_on, since)})
    decision = decide(SITE, s, now)
    zone, action = decision.zones[0], decision.action("salle-chauffage")
    assert action is not None
    too_warm = (
        zone.measured_c is not None
        and zone.target_c is not None
        and zone.measured_c > zone.target_c + HALL_CFG.hot_tolerance
    )
    if action.on and too_warm:
        assert action.reason.code == "heat_min_on"
        assert relay_on
        assert held_min is not None
        assert held_min < HALL_CFG.min_on_min


@FAST
@given(
    now_ns=INSTANTS,
    temp=st.one_of(st.none(), TEMPS),
    relay_on=st.booleans(),
    held_min=st.floats(0, 10),
    age_min=st.floats(0, 60),
    window_open=st.booleans(),
)
def test_minimum_on_and_off_times_are_always_respected(
    now_ns: int, temp: float | None, relay_on: bool, held_min: float, age_min: float, window_open: bool
) -> None:
    now = from_ns(now_ns, PARIS)
    from rules.types import InputState

    inputs = {"salle-fenetre": InputState(window_open, now_ns - MIN)}
    s = state(
        now,
        hall_c=temp,
        age_min=age_min,
        inputs=inputs,
        relays={"salle-chauffage": RelayState(relay_on, now_ns - int(held_min * MIN))},
    )
    action = decide(SITE, s, now).action("salle-chauffage")
    assert action is not None
    if relay_on and held_min < HALL_CFG.min_on_min:
        assert action.on
    if not relay_on and held_min < HALL_CFG.min_off_min:
        assert not action.on


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start_ns=INSTANTS,
    temp=st.floats(5.0, 25.0),
    tick_s=st.integers(30, 120),
    last_reading_after_min=st.integers(0, 30),
    failsafe_mode=st.sampled_from(["duty", "off"]),
)
def test_a_stale_sensor_turns_heating_safe_within_the_fail_safe_delay(
    start_ns: int, temp: float, tick_s: int, last_reading_after_min: int, failsafe_mode: str
) -> None:
    """Run ticks for 90 minutes; the thermometer goes silent after a while. From stale_after + min_on after
    its last reading, the heater is on only in the "on" part of the frost-protection duty cycle (or never,
    with mode off), and it never runs longer than the duty's on time without a fresh reading."""
    cfg = hall_heating(failsafe={"mode": failsafe_mode, "stale_after_min": 15})
    s_site = site(hall=cfg)
    last_reading = start_ns + last_reading_after_min * MIN
    relay = RelayState(False, None)
    memory = Memory()
    delay = int((cfg.failsafe.stale_after_min + cfg.min_on_min) * MIN)
    on_since: int | None = None
    t = start_ns
    while t < start_ns + 90 * MIN:
        reading_time = min(t, last_reading)
        now = from_ns(t, PARIS)
        s = state(now, hall_c=temp, memory=memory, relays={"salle-chauffage": relay})
        readings = dict(s.readings)
        readings[("salle-t1", "temperature_c")] = SensorValue(temp, reading_time)
        from dataclasses import replace

        decision = decide(s_site, replace(s, readings=readings), now)
        memory = decision.memory
        action = decision.action("salle-chauffage")
        assert action is not None
        if action.on != relay.on:
            relay = RelayState(action.on, t)
        on_since = (on_since or t) if relay.on else None
        if t >= last_reading + delay and relay.on:
            assert failsafe_mode == "duty"
            assert action.reason.code in {"heat_failsafe_duty_on", "heat_min_on"}
            assert on_since is not None
            limit = (cfg.failsafe.duty_on_min + cfg.min_on_min) * MIN + tick_s * NS
            assert t - max(on_since, last_reading + delay) <= limit
        t += tick_s * NS


@FAST
@given(
    now_ns=INSTANTS,
    temp=TEMPS,
    relay_on=st.booleans(),
    held_min=st.floats(0, 120),
    warm=st.floats(0.5, 4.0),
    hist_temp=TEMPS,
)
def test_decide_depends_only_on_its_inputs(
    now_ns: int, temp: float, relay_on: bool, held_min: float, warm: float, hist_temp: float
) -> None:
    """Same site, state and now -> same decision, whether the memory stayed in RAM or went through
    the disk (JSON) as after a restart."""
    now = from_ns(now_ns, PARIS)
    previous = now - timedelta(minutes=1)
    relays = {"salle-chauffage": RelayState(relay_on, now_ns - int(held_min * MIN))}
    warmup = decide(SITE, state(previous, hall_c=hist_temp, relays=relays), previous).memory
    warmup = warmup.model_copy(
        update={"zones": {**warmup.zones, HALL: warmup.zones[HALL].model_copy(update={"rates": {"0": warm}})}}
    )
    restarted = memory_from_json(memory_to_json(warmup))
    first = decide(SITE, state(now, hall_c=temp, relays=relays, memory=warmup), now)
    second = decide(SITE, state(now, hall_c=temp, relays=relays, memory=restarted), now)
    assert first == second
    assert decide(SITE, state(now, hall_c=temp, relays=relays, memory=warmup), now) == first
