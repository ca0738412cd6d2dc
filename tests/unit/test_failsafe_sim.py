"""The fail-safe that follows the weather (issue 10), proved in the simulator: a thermometer dead for 72 h.

Given a small village (a stone mairie, a 1980s salle des fêtes and a médiathèque, each on a relay heater
with its own thermometer) whose every thermometer goes silent for 72 h from Monday 00:00 after three days
of warm-up (the rules learn the structure's temperature meanwhile), When the rules run the real
``decide`` against the two-node building models, Then each zone's air stays between hors-gel − 0.5 °C
(7.5 °C) and confort + 0.5 °C (19.5 °C):

- in a cold spell (nights at −7 °C and below) and in a +15 °C spell, with the default
  ``failsafe.mode = "model"``;
- with no outdoor thermometer either, in nights at −10 °C (hors-gel held: the fail-safe assumes a −10 °C
  night);
- while the legacy fixed duty (``failsafe.mode = "duty"``, 10 minutes an hour) leaves the band both ways:
  the lever is what holds it.

The band is judged from the moment the fail-safe has had time to act: for ``failsafe.stale_after_min``
after the thermometer's last word the ordinary thermostat still trusts the last reading (as it does
whenever a reading is late, whatever the fail-safe mode), and the heater then needs a few minutes to
bring back what the air lost meanwhile. That first quarter hour is identical in every mode
(:func:`test_the_quarter_hour_before_the_fail_safe_is_the_ordinary_thermostats`); a zone with light air
whose thermometer dies while its heater rests at the bottom of its hors-gel band can lose about 1 °C in it
(the salle des fêtes at −8 °C: 7.6 → 6.6 °C with a three-day warm-up instead of two) — a rules matter, not
the fail-safe's.

Only the rules run here (``simulate`` would add both baselines and the programmer's lead search): about
10 s a scenario (five days of three zones, a decision a minute).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import pytest

from gateway.config import parse_config
from gateway.simulation.rules_run import Trace, run_rules
from gateway.simulation.world import build
from rules import preheat, zone_model
from rules.config import site_from_config
from rules.engine import decide
from rules.types import Memory, ModelMemory, RelayState, SensorValue, ZoneMemory
from tests.support.village import building, relay, site, zone
from tests.unit.rules_village import HALL, MIN, at, hall_heating, ns, state
from tests.unit.rules_village import site as rules_site

#: six 5-day runs of three zones: about a minute in all
SLOW = pytest.mark.slow

HORS_GEL_C, CONFORT_C = 8.0, 19.0
LOW_C, HIGH_C = HORS_GEL_C - 0.5, CONFORT_C + 0.5
OUTAGE_H = 72
STALE_MIN = 15.0  # failsafe.stale_after_min's default
#: the band is judged from this long after the thermometer's last word (see the module docstring)
JUDGED_AFTER_MIN = 2 * STALE_MIN
MONDAY = date(2026, 1, 12)
WARMUP_DAYS = 2  # the rules' observer learns the structure's temperature meanwhile
ZONES = ("mairie/bureaux", "salle/grande_salle", "mediatheque/lecture")

#: weather of the 72 h (the preset's figures, shifted for the whole run)
COLD = ("cold", 0.0)  # nights about −7.5 to −9 °C, afternoons about +1 °C
MILD_15 = ("mild", 6.0)  # a mean of 15 °C: afternoons near 20 °C
COLD_10 = ("cold", -2.0)  # nights at −10 °C and below


def _village(*, mode: str, weather: tuple[str, float], outdoor: bool, outage: bool) -> str:
    preset, shift = weather
    outdoor_sensor = 'outdoor_sensor = "exterieur"\n' if outdoor else ""
    common = f'{outdoor_sensor}failsafe = {{ mode = "{mode}", stale_after_min = {STALE_MIN} }}\n'
    text = (
        site()
        + building("mairie", "Mairie", kind="mairie")
        + zone("mairie", "bureaux", "Bureaux", relay="mairie-chauffage", sensors="mairie-t1")
        + """schedule = [
  { days = "mon,tue,thu,fri", start = "08:30", end = "17:30" },
  { days = "wed", start = "08:30", end = "12:00" },
]
model = { archetype = "mairie-pierre", floor_area_m2 = 120, heater_kw = 11.5 }
"""
        + common
        + building("salle", "Salle des fêtes", kind="hall")
        + zone("salle", "grande_salle", "Grande salle", relay="salle-chauffage", sensors="salle-t1")
        + """schedule = [{ days = "tue,thu", start = "18:30", end = "22:30" }]
optimum_start = { max_preheat_h = 8 }
model = { archetype = "salle-des-fetes-1980", floor_area_m2 = 300, heater_kw = 30.5 }
"""
        + common
        + building("mediatheque", "Médiathèque", kind="other")
        + zone("mediatheque", "lecture", "Salle de lecture", relay="mediatheque-chauffage", sensors="mediatheque-t1")
        + """schedule = [
  { days = "wed,sat", start = "10:00", end = "12:30" },
  { days = "wed,fri", start = "14:00", end = "18:00" },
]
model = { archetype = "mediatheque", floor_area_m2 = 200 }
"""
        + common
        + relay("mairie-chauffage", 17, building="mairie", zone="bureaux")
        + relay("salle-chauffage", 18, building="salle", zone="grande_salle")
        + relay("mediatheque-chauffage", 19, building="mediatheque", zone="lecture")
        + f"""
[simulation]
seed = 3
start = {MONDAY.isoformat()}
outdoor = {{ preset = "{preset}"{', sensor = "exterieur"' if outdoor else ""} }}
[[simulation.outdoor_offsets]]
start = {(MONDAY - timedelta(days=4)).isoformat()}T00:00:00
hours = {8 * 24}
delta_c = {shift}
"""
    )
    for key, archetype, area_m2, initial_c in [
        ("mairie/bureaux", "mairie-pierre", 120, 16.0),
        ("salle/grande_salle", "salle-des-fetes-1980", 300, 12.0),
        ("mediatheque/lecture", "mediatheque", 200, 16.0),
    ]:
        text += f'[simulation.zones."{key}"]\narchetype = "{archetype}"\nfloor_area_m2 = {area_m2}\ninitial_c = {initial_c}\n'
    for sensor in ("mairie-t1", "salle-t1", "mediatheque-t1") if outage else ():
        text += (
            f'[[simulation.outages]]\nsensor = "{sensor}"\nstart = {MONDAY.isoformat()}T00:00:00\nhours = {OUTAGE_H}\n'
        )
    return text


@dataclass(frozen=True, slots=True)
class Outage:
    """What the 72 h looked like: the outdoor range and, per zone, the air's range and the reasons given."""

    outdoor: tuple[float, float]
    air: dict[str, tuple[float, float]]  # from JUDGED_AFTER_MIN to the end of the outage
    whole: dict[str, tuple[float, float]]  # the whole outage
    first_quarter: dict[str, tuple[float, float]]  # before the reading is stale (the ordinary thermostat)
    codes: dict[str, set[str]]


@cache
def _outage(mode: str, weather: tuple[str, float], outdoor: bool = True, *, outage: bool = True) -> Outage:
    """The 72 h from Monday 00:00 (``outage=False``: the same world with live thermometers)."""
    config = parse_config(_village(mode=mode, weather=weather, outdoor=outdoor, outage=outage))
    village = site_from_config(config)
    world = build(config, village, days=OUTAGE_H / 24, start=MONDAY, warmup_days=WARMUP_DAYS)
    trace = Trace()
    run_rules(world, village, config.simulation.outdoor.sensor, trace)
    start_ns = world.clock.time(world.clock.report_i)
    stale_ns, judged_ns = start_ns + int(STALE_MIN * MIN), start_ns + int(JUDGED_AFTER_MIN * MIN)
    air: dict[str, list[float]] = {}
    whole: dict[str, list[float]] = {}
    first: dict[str, list[float]] = {}
    for time_ns, key, air_c, _, _ in trace.rows:
        whole.setdefault(key, []).append(air_c)
        if time_ns >= judged_ns:
            air.setdefault(key, []).append(air_c)
        if time_ns < stale_ns:
            first.setdefault(key, []).append(air_c)
    codes: dict[str, set[str]] = {}
    for decision in trace.decisions:
        for status in decision.zones:
            codes.setdefault(status.zone, set()).add(status.reason.code)
    reported = world.outdoor[world.clock.report_i :]
    return Outage(
        (min(reported), max(reported)),
        {z: (min(v), max(v)) for z, v in air.items()},
        {z: (min(v), max(v)) for z, v in whole.items()},
        {z: (min(v), max(v)) for z, v in first.items()},
        codes,
    )


def _assert_in_band(run: Outage, high_c: dict[str, float] | None = None) -> None:
    assert set(run.air) == set(ZONES)
    for key, (low, high) in run.air.items():
        assert low >= LOW_C, (key, round(low, 2))
        assert high <= (high_c or {}).get(key, HIGH_C), (key, round(high, 2))
        assert "heat_failsafe_model_on" in run.codes[key], key  # the model's fail-safe held it


@SLOW
def test_a_dead_thermometer_holds_the_band_in_a_cold_spell() -> None:
    run = _outage("model", COLD)
    assert run.outdoor[0] <= -7.0  # nights at −7 °C and below
    _assert_in_band(run)


@SLOW
def test_a_dead_thermometer_holds_the_band_in_a_15_degree_spell() -> None:
    """A +15 °C spell (afternoons near 20 °C) warms rooms past 19.5 °C with the heater off: sunshine through
    the médiathèque's glazing, occupants. The fail-safe must add none of it: never warmer than confort +
    0.5 °C or than the same zone with a live thermometer in the same world."""
    run, live = _outage("model", MILD_15), _outage("model", MILD_15, outage=False)
    assert run.outdoor[1] >= 15.0
    assert sum(run.outdoor) / 2 >= 14.0
    _assert_in_band(run, {zone: max(HIGH_C, high) for zone, (_, high) in live.whole.items()})


@SLOW
def test_with_no_outdoor_thermometer_either_hors_gel_is_held_in_minus_10_nights() -> None:
    run = _outage("model", COLD_10, outdoor=False)
    assert run.outdoor[0] <= -10.0
    for key, (low, high) in run.air.items():
        assert low >= LOW_C, (key, round(low, 2))
        assert high <= HIGH_C, (key, round(high, 2))  # blind, it aims at hors-gel + 1.5 °C against −10 °C


@SLOW
@pytest.mark.parametrize(("weather", "side"), [(COLD, "below"), (MILD_15, "above")])
def test_the_legacy_fixed_duty_leaves_the_band(weather: tuple[str, float], side: str) -> None:
    run = _outage("duty", weather)
    if side == "below":  # 10 minutes an hour cannot hold hors-gel in a cold spell ...
        assert min(low for low, _ in run.air.values()) < LOW_C
    else:  # ... and overheats a mild one beyond confort
        assert max(high for _, high in run.air.values()) > HIGH_C


@SLOW
def test_the_quarter_hour_before_the_fail_safe_is_the_ordinary_thermostats() -> None:
    """Before ``stale_after_min`` the last reading is trusted whatever the mode: identical air in both."""
    model, duty = _outage("model", COLD), _outage("duty", COLD)
    assert model.first_quarter == duty.first_quarter


# ---- a dead thermometer before a preheat (decide, no simulator) ---------------------------------------------

OUT = "exterieur"


def test_a_dead_thermometer_before_a_preheat_still_preheats_on_the_models_lead() -> None:
    """Given the hall's thermometer silent for hours before Tuesday's 18:30 slot, the model standing in for
    it at 15 °C (structure 14 °C) and 5 °C outside, When the engine decides around the model's lead, Then
    preheating begins at that lead — not at ``max_preheat_h`` (what a zone with nothing to stand in for the
    thermometer does) nor never — and the relay follows the fail-safe's thermostat on the model."""
    cfg = hall_heating(outdoor_sensor=OUT, optimum_start={"max_preheat_h": 12})
    village = rules_site(hall=cfg)
    slot = at(2026, 1, 13, 18, 30)
    view = zone_model.View(cfg, ModelMemory(tm=14.0, tm_ns=0, virtual=15.0), None, 5.0)
    assert view.now is not None
    assert view.virtual
    lead_h = preheat.lead(cfg, view.params, view.now, 19.0)
    assert 1.0 < lead_h < 10.0  # well inside the cap: the two behaviours are told apart

    def decide_at(hours_before: float):  # type: ignore[no-untyped-def]
        now = slot - timedelta(hours=hours_before)
        model = ModelMemory(tm=14.0, tm_ns=ns(now), tm_since_ns=ns(now) - 48 * 60 * MIN, virtual=15.0)
        memory = Memory(zones={HALL: ZoneMemory(history=((ns(now) - 5 * 60 * MIN, 12.0),), model=model)})
        relays = {"salle-chauffage": RelayState(False, ns(now) - 5 * 60 * MIN)}
        extra = {(OUT, "temperature_c"): SensorValue(5.0, ns(now) - MIN)}
        decision = decide(village, state(now, hall_c=None, extra=extra, relays=relays, memory=memory), now)
        return next(z for z in decision.zones if z.zone == HALL), decision.action("salle-chauffage")

    early, _ = decide_at(lead_h + 0.25)
    assert early.reason.param("source") != "preheat"
    assert early.model is not None
    assert early.model.next_start_ns is not None  # and it says when it will start
    zone, action = decide_at(lead_h - 0.25)
    assert (zone.mode, zone.reason.param("source")) == ("confort", "preheat")
    assert action is not None
    assert action.on
    assert action.reason.code == "heat_failsafe_model_on"
