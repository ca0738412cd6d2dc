"""The zone's model: its closed-form predictions against its own step-by-step physics, the fit against
histories of known zones, and the fail-safe's band against the model's own uncertainty."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules import identify, preheat, thermal
from rules.failsafe import UNCERTAINTY, failsafe_target
from tests.unit.rules_village import hall_heating

NS = 1_000_000_000
HOUR = 3600 * NS
#: a heavy zone: τ 40 h, the heater 40 × the total loss, air↔structure 10 × the total loss
HEAVY = thermal.from_shape(ua=0.025, tau_h=40, air_share=0.35, coupling=10, tau_air_h=0.25, g=0.06, f=0.9)


def _simulate_until(p: thermal.Params, now: thermal.Now, *, u: float, stop, hours: float = 80.0) -> float:  # type: ignore[no-untyped-def]
    """Step the model minute by minute; the hours until ``stop(now)`` (inf if never)."""
    t = 0.0
    while t < hours:
        if stop(now):
            return t
        now = thermal.step(p, now, u=u, hours=1 / 60)
        t += 1 / 60
    return math.inf


@pytest.mark.parametrize(("ta", "tm", "to"), [(16, 16, 0), (12, 12, -5), (10, 9, 3), (17, 18, 5)])
def test_the_lead_predicted_matches_the_models_own_warm_up(ta: float, tm: float, to: float) -> None:
    now = thermal.Now(ta, tm, to)
    stepped = _simulate_until(HEAVY, now, u=1.0, stop=lambda n: n.ta >= 19.0)
    predicted = thermal.lead_h(HEAVY, now, 19.0)
    assert predicted == pytest.approx(stepped, abs=0.35, rel=0.1)


def test_a_heater_too_small_for_the_cold_never_gets_there() -> None:
    small = thermal.from_shape(ua=0.05, tau_h=40, air_share=0.35, coupling=10, tau_air_h=0.25, g=0.0, f=0.9)
    assert thermal.lead_h(small, thermal.Now(10, 10, -10), 19.0) == math.inf  # holds only 20 K over outdoors


def test_coasting_prediction_is_the_lowest_air_temperature_of_the_models_own_cool_down() -> None:
    now = thermal.Now(19.2, 18.6, 2.0, occ=1.0)
    lowest = 99.0
    state = now
    for _ in range(120):  # two hours, heater off
        state = thermal.step(HEAVY, state, u=0.0, hours=1 / 60)
        lowest = min(lowest, state.ta)
    assert thermal.coast_min_c(HEAVY, now, 2.0) == pytest.approx(lowest, abs=0.15)


def test_hold_duty_holds_the_temperature_in_steady_state() -> None:
    duty = thermal.hold_duty(HEAVY, 16.0, 2.0)
    state = thermal.Now(16.0, 16.0, 2.0)
    for _ in range(24 * 30):  # thirty days of hourly steps
        state = thermal.step(HEAVY, state, u=duty, hours=1.0)
    assert state.ta == pytest.approx(16.0, abs=0.05)


def _history(true: thermal.Params, *, days: int, seed: int) -> tuple[tuple[identify.Row, ...], thermal.Now]:
    """A schedule-driven thermostat (19 °C weekdays 06–17, 16 °C otherwise) on ``true``, minute by minute."""
    rng = random.Random(seed)
    now = thermal.Now(17.0, 16.5, 3.0)
    acc: identify.Acc | None = None
    rows: tuple[identify.Row, ...] = ()
    on = False
    start = 1_767_225_600 * NS
    for k in range(days * 24 * 60):
        hour, dow = (k // 60) % 24, (k // 1440) % 7
        occ = 1.0 if dow < 5 and 8 <= hour < 17 else 0.0
        target = 19.0 if dow < 5 and 6 <= hour < 17 else 16.0
        to = 3 + 5 * math.cos(2 * math.pi * (hour - 15) / 24) + 3 * math.sin(2 * math.pi * k / 1440 / 5)
        seen = now.ta + rng.gauss(0, 0.05)
        on = (seen < target + 0.3) if on else (seen < target - 0.3)
        acc, rows = identify.add_sample(acc, rows, now_ns=start + k * 60 * NS, ta=seen, to=to, u=float(on), occ=occ)
        now = thermal.step(true, thermal.Now(now.ta, now.tm, to, occ), u=float(on), hours=1 / 60)
    return rows, now


@pytest.mark.parametrize("seed", [1, 2])
def test_the_fit_finds_a_heavy_zone_from_three_weeks_of_its_history(seed: int) -> None:
    rows, end = _history(HEAVY, days=21, seed=seed)
    prior = thermal.generic(tau_h=20.0)  # 20 h, a different loss: the data must move it
    fit = identify.fit(prior, rows)
    assert fit is not None
    assert fit.params.ua == pytest.approx(HEAVY.ua, rel=0.08)
    assert fit.params.tau_h == pytest.approx(HEAVY.tau_h, rel=0.15)
    assert fit.tm_end == pytest.approx(end.tm, abs=0.5)
    # and what it is for: the lead after a long setback, within 15 %
    cold = thermal.Now(12.0, 12.0, -5.0)
    assert thermal.lead_h(fit.params, cold, 19.0) == pytest.approx(thermal.lead_h(HEAVY, cold, 19.0), rel=0.15)
    assert thermal.lead_h(prior, cold, 19.0) != pytest.approx(thermal.lead_h(HEAVY, cold, 19.0), rel=0.15)


def test_a_day_of_history_is_too_little_to_fit_and_the_log_is_bounded() -> None:
    rows, _ = _history(HEAVY, days=1, seed=3)
    assert len(rows) < 24 or identify.fit(thermal.generic(), rows[:23]) is None
    acc: identify.Acc | None = None
    log: tuple[identify.Row, ...] = ()
    for k in range((identify.MAX_ROWS + 30) * 12):
        acc, log = identify.add_sample(acc, log, now_ns=k * 300 * NS, ta=18.0, to=2.0, u=0.5, occ=0.0)
    assert len(log) == identify.MAX_ROWS
    assert log[-1][0] - log[0][0] == (identify.MAX_ROWS - 1) * HOUR


def test_an_hour_with_a_gap_in_the_ticks_is_not_a_row() -> None:
    acc, rows = identify.add_sample(None, (), now_ns=0, ta=18.0, to=2.0, u=1.0, occ=0.0)
    acc, rows = identify.add_sample(acc, rows, now_ns=10 * 60 * NS, ta=18.0, to=2.0, u=1.0, occ=0.0)
    acc, rows = identify.add_sample(acc, rows, now_ns=HOUR, ta=18.0, to=2.0, u=1.0, occ=0.0)
    assert rows == ()  # six minutes of samples in that hour: not an hour of data


def test_preheat_beyond_the_cap_heats_from_the_cap_and_says_how_late() -> None:
    cfg = hall_heating(optimum_start={"max_preheat_h": 2.0, "margin": 1.0})
    cold = thermal.Now(8.0, 8.0, -5.0)
    needed = preheat.lead(cfg, HEAVY, cold, 19.0)
    assert needed > 2.0
    at_cap = preheat.start(cfg, HEAVY, cold, goal=19.0, hours_left=2.0)
    assert at_cap.begin
    assert at_cap.late_h == pytest.approx(needed - 2.0)
    assert not preheat.start(cfg, HEAVY, cold, goal=19.0, hours_left=2.1).begin


@settings(max_examples=200, deadline=None)
@given(
    outdoor=st.floats(min_value=-15, max_value=20),
    wanted=st.floats(min_value=8, max_value=19),
    error=st.floats(min_value=1 / UNCERTAINTY, max_value=UNCERTAINTY),
)
def test_the_fail_safe_target_keeps_the_zone_between_hors_gel_and_confort_whatever_the_models_error(
    outdoor: float, wanted: float, error: float
) -> None:
    cfg = hall_heating()
    target = failsafe_target(cfg, wanted, outdoor=outdoor)
    # the model holds ``target``; a zone whose true loss is ``error`` × the model's settles at
    # outdoor + (target − outdoor) / error (never below outdoors: heating cannot cool)
    settled = max(outdoor, outdoor + (target - outdoor) / error)
    if outdoor >= -10:
        assert cfg.setpoints.hors_gel - 0.5 <= settled <= max(outdoor, cfg.setpoints.confort + 0.5)
    assert target <= cfg.setpoints.confort


def test_after_a_silent_thermometer_the_structure_estimate_is_followed_again_before_it_judges_windows() -> None:
    from rules import zone_model
    from rules.types import ModelMemory

    cfg = hall_heating()
    memory, t, last = ModelMemory(), 0, None

    def tick(measured: float | None) -> None:
        nonlocal memory, t, last
        x = zone_model.Sample(t, measured, last, 3.0, 1.0 if measured is None else 0.5, 0.0, 3.0)
        memory = zone_model.observe(cfg, memory, x)
        last = (t, measured) if measured is not None else last
        t += 60 * NS

    for _ in range(8 * 60):  # eight hours of readings: believed
        tick(19.0)
    assert zone_model.View(cfg, memory, 19.0, 3.0).settled(t)
    for _ in range(3 * 60):  # three hours silent: the model stands in, open-loop
        tick(None)
    tick(19.0)  # back
    view = zone_model.View(cfg, memory, 19.0, 3.0)
    assert not view.settled(t)
    assert view.settled(t + int(zone_model.View.SETTLED_H * HOUR))
