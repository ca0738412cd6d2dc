"""Thermostat, fail-safe, pilot wire and window detection as truth tables (optimum start: test_rules_model.py)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from rules import thermal, window
from rules.heating import Inputs, relay_decision
from rules.pilot_wire import ORDER_OF_MODE, RELAYS_OF_ORDER, order_of, relays_for
from rules.types import InputState, RelayState
from tests.unit.rules_village import MIN, hall_heating

NOW = 1_768_000_000 * 1_000_000_000
CFG = hall_heating(cold_tolerance=0.3, hot_tolerance=0.3, min_on_min=3, min_off_min=3, max_on_h=8)


def decide_relay(
    measured: float | None, target: float | None, relay_on: bool, held_min: float | None, **kw: object
) -> tuple[bool, str]:
    since = None if held_min is None else NOW - int(held_min * MIN)
    inputs = Inputs(
        target_c=target,
        measured_c=measured,
        stale_min=kw.get("stale_min"),  # type: ignore[arg-type]
        window_open=bool(kw.get("window_open", False)),
        rise_c_per_h=kw.get("rise"),  # type: ignore[arg-type]
        relay=RelayState(relay_on, since),
        now_ns=int(kw.get("now", NOW)),  # type: ignore[call-overload]
    )
    out = relay_decision(kw.get("cfg", CFG), inputs)  # type: ignore[arg-type]
    return out.on, out.code


# (measured, target, relay on, held for min) -> (on, reason)
@pytest.mark.parametrize(
    ("measured", "target", "relay_on", "held", "expected"),
    [
        (18.0, 19.0, False, 60, (True, "heat_on")),  # cold: start
        (18.7, 19.0, False, 60, (True, "heat_on")),  # exactly target - cold tolerance: start
        (18.8, 19.0, False, 60, (False, "heat_off_enough")),  # inside the band, idle: stay idle
        (19.2, 19.0, True, 60, (True, "heat_on")),  # inside the band, running: keep running
        (19.31, 19.0, True, 60, (False, "heat_off_reached")),  # above target + hot tolerance: stop
        (19.5, 19.0, True, 1, (True, "heat_min_on")),  # would stop, but minimum on time
        (18.0, 19.0, False, 1, (False, "heat_min_off")),  # would start, but minimum off time
        (18.0, 19.0, False, None, (True, "heat_on")),  # unknown last switch (boot): free to switch
        (18.0, None, True, 60, (False, "heat_mode_off")),  # mode arrêt
        (15.0, 19.0, True, 8 * 60, (False, "heat_max_on")),  # maximum continuous on time
        (15.0, 19.0, True, 8 * 60 - 1, (True, "heat_on")),
    ],
)
def test_thermostat_truth_table(measured, target, relay_on, held, expected) -> None:  # type: ignore[no-untyped-def]
    assert decide_relay(measured, target, relay_on, held) == expected


def test_an_open_window_cuts_heating_but_minimum_on_time_still_holds() -> None:
    assert decide_relay(15.0, 19.0, True, 60, window_open=True) == (False, "heat_window")
    assert decide_relay(15.0, 19.0, True, 1, window_open=True) == (True, "heat_min_on")


def test_stale_temperature_falls_back_to_a_frost_protection_duty_cycle() -> None:
    period = 60 * MIN
    base = NOW - NOW % period
    assert decide_relay(None, 19.0, False, 60, now=base + 5 * MIN) == (True, "heat_failsafe_duty_on")
    assert decide_relay(None, 19.0, True, 60, now=base + 10 * MIN) == (False, "heat_failsafe_duty_off")
    assert decide_relay(None, 19.0, True, 60, now=base + 59 * MIN) == (False, "heat_failsafe_duty_off")
    off = hall_heating(failsafe={"mode": "off"})
    assert decide_relay(None, 19.0, True, 60, cfg=off) == (False, "heat_failsafe_off")


def test_church_slow_warm_up_pauses_a_heater_rising_too_fast() -> None:
    church = hall_heating(max_rise_c_per_h=1.5)
    assert decide_relay(10.0, 15.0, True, 60, cfg=church, rise=2.0) == (False, "heat_rise_limit")
    assert decide_relay(10.0, 15.0, True, 60, cfg=church, rise=1.2) == (True, "heat_on")


@pytest.mark.parametrize(
    ("mode", "order", "plus", "minus"),
    [
        ("confort", "confort", False, False),  # no signal
        ("reduit", "eco", True, True),  # full sine
        ("hors_gel", "hors_gel", False, True),  # negative half-wave
        ("arret", "arret", True, False),  # positive half-wave
    ],
)
def test_pilot_wire_truth_table(mode: str, order: str, plus: bool, minus: bool) -> None:
    assert ORDER_OF_MODE[mode] == order  # type: ignore[index]
    assert relays_for(order) == (plus, minus)  # type: ignore[arg-type]
    assert order_of(plus, minus) == order
    assert len(set(RELAYS_OF_ORDER.values())) == 4


def _run(
    p: thermal.Params,
    *,
    minutes: int,
    window_at: int | None = None,
    seed: int = 1,
    false_alarm_at: int | None = None,
    window_min: int = 15,
) -> list[bool]:
    """A zone held at 19 °C by a thermostat (±0.3 °C, 3 min on/off), read every minute with ±0.05 °C noise;
    a window (60 % of the zone's loss per K added to the air's) open ``window_min`` from ``window_at``;
    ``false_alarm_at``: the detector is told a window opened then, with none open.
    Returns the detector's verdict each minute."""
    cfg = hall_heating().window
    rng = random.Random(seed)
    now = thermal.Now(19.0, 18.6, 3.0, 1.0)
    trace: tuple[window.TraceRow, ...] = ()
    stats: window.Stats | None = None
    on, since, open_since = False, -10, None
    verdicts = []
    for k in range(minutes):
        t = NOW + k * MIN
        seen_c = now.ta + rng.gauss(0, 0.05)
        trace = window.add_trace(trace, (t, seen_c, float(on), now.tm))
        if k == false_alarm_at:
            open_since = t
        state, stats = window.detect(cfg, {}, open_since, t, window.Seen(trace, stats, p, 3.0, 1.0, 19.0))
        open_since = state.since_ns if state.open else None
        verdicts.append(state.open)
        want = (seen_c < 19.3) if on else (seen_c <= 18.7)
        if want != on and k - since >= 3 and not state.open:
            on, since = want, k
        elif state.open and on:
            on, since = False, k
        leaky = window_at is not None and window_at <= k < window_at + window_min
        truth = _leaky(p) if leaky else p
        now = thermal.step(truth, now, u=float(on), hours=1 / 60)
    return verdicts


def _leaky(p: thermal.Params) -> thermal.Params:
    return replace(p, h_ao=p.h_ao + 0.6 * p.ua)


ZONE = thermal.from_shape(ua=0.027, tau_h=40, air_share=0.35, coupling=10, tau_air_h=0.3, g=0.05, f=0.9)


def test_the_thermostats_own_cycles_are_not_windows() -> None:
    # the old slope rule (-0.05 °C/min over 10 min) fired at every heater stop of a real air node
    verdicts = _run(ZONE, minutes=8 * 60)
    assert not any(verdicts[60:])


def test_a_window_makes_the_air_fall_below_the_models_prediction_and_is_found() -> None:
    verdicts = _run(ZONE, minutes=5 * 60, window_at=4 * 60)
    assert not any(verdicts[60 : 4 * 60])
    assert any(verdicts[4 * 60 : 4 * 60 + 20])


def test_a_false_alarm_ends_once_the_air_follows_the_model_with_the_heater_off() -> None:
    # the heater rests over_min (10 min), the air falls as the model says it would: heating resumes
    verdicts = _run(ZONE, minutes=5 * 60, false_alarm_at=4 * 60)
    assert all(verdicts[4 * 60 : 4 * 60 + 10])
    assert not any(verdicts[4 * 60 + 12 : 4 * 60 + 30])  # without the test: off until off_min (30 min)


def test_a_window_left_open_keeps_the_heating_cut_until_off_min() -> None:
    verdicts = _run(ZONE, minutes=5 * 60, window_at=4 * 60, window_min=60)
    found = verdicts.index(True, 4 * 60)
    assert all(verdicts[found : found + 29])


def test_window_cut_lasts_at_most_off_min_then_heating_resumes() -> None:
    cfg = hall_heating().window
    assert window.detect(cfg, {}, NOW, NOW + 29 * MIN, None)[0].open is False  # nothing to go on: no latch
    seen = window.Seen((), None, ZONE, 3.0, 0.0)
    assert window.detect(cfg, {}, NOW, NOW + 29 * MIN, seen)[0].open
    assert not window.detect(cfg, {}, NOW, NOW + 30 * MIN, seen)[0].open
    contact = {"salle-fenetre": InputState(True, NOW)}
    found, _ = window.detect(cfg, contact, None, NOW + 10 * MIN, None)
    assert found.open
    assert found.contact == "salle-fenetre"
    assert not window.detect(cfg, contact, None, NOW + 31 * MIN, None)[0].open  # left open: heating resumes
    assert not window.detect(cfg, {"salle-fenetre": InputState(False, NOW)}, None, NOW + MIN, None)[0].open


def _history(values: list[float], step_min: float = 1.0) -> window.History:
    hist: window.History = ()
    for i, v in enumerate(values):
        hist = window.remember(hist, NOW + int(i * step_min * MIN), v)
    return hist


def test_history_is_bounded() -> None:
    hist = _history([19.0] * 500, step_min=0.5)
    assert len(hist) <= window.HISTORY_MAX_SAMPLES
    assert hist[-1][0] - hist[1][0] <= window.HISTORY_MIN * MIN
