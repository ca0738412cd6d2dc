"""The baselines and the world they share: the programmer's lead search, the warm-up, presence inputs, no-shows."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest

from gateway.config import load_config, parse_config
from gateway.simulation import SimulationError, simulate
from gateway.simulation.world import build
from rules.config import site_from_config
from tests.support.village import building, gpio_input, relay, site, zone

ROOT = Path(__file__).resolve().parents[2]
VILLAGE = ROOT / "examples" / "village.toml"
NS = 1_000_000_000

#: One office, open every day 08:00–17:00, réduit (16 °C) at night, on a relay heater; a constant 0 °C
#: outside. The one-node shorthand makes its warm-up exact: C = 1.425 kWh/K, UA = 0.5 kW/K (τ = 2.85 h),
#: 10 kW (T_eq = 20 °C). From 16 ± 0.12 °C to 18.5 °C takes τ·ln((20 − T0)/1.5) = 2.71–2.93 h: a lead
#: of 2.5 h is late every morning, 3 h is on time every morning.
OFFICE = (
    site()
    + building("mairie", "Mairie", kind="mairie")
    + zone("mairie", "bureau", "Bureau", relay="mairie-chauffage", sensors="mairie-t1")
    + """schedule = [{ days = "daily", start = "08:00", end = "17:00" }]
cold_tolerance = 0.1
hot_tolerance = 0.1
min_on_min = 0
min_off_min = 0
"""
    + relay("mairie-chauffage", 17, building="mairie", zone="bureau")
    + gpio_input("mairie-presence", 16, kind="motion", building="mairie", zone="bureau")
    + gpio_input("mairie-porte", 20, kind="contact", building="mairie", zone="bureau")
    + """[simulation]
seed = 3
start = 2026-01-12
outdoor = { mean_c = 0.0, daily_swing_c = 0.0, day_to_day_c = 0.0 }
[simulation.zones."mairie/bureau"]
heat_capacity_kwh_per_k = 1.425
loss_kw_per_k = 0.5
heater_kw = 10.0
initial_c = 16.0
sensor_noise_c = 0.0
"""
)


def _office(extra: str = "") -> object:
    return parse_config(OFFICE + extra)


def test_a_zone_needing_three_hours_gets_a_three_hour_lead() -> None:
    result = simulate(_office(), days=4, warmup_days=1)
    programmer = result["baselines"]["programmer"]
    assert programmer["leads_h"] == {"mairie/bureau": 3.0}
    assert programmer["leads_not_found"] == []
    office = programmer["zones"]["mairie/bureau"]
    assert office["late_starts"] == 0
    assert office["occupied_hours"] == pytest.approx(4 * 9)
    # its warm-up really takes between 2.5 and 3 h: the closed form of the one-node model
    tau = 1.425 / 0.5
    assert 2.5 < tau * math.log((20 - 16.12) / 1.5) < tau * math.log((20 - 15.8) / 1.5) <= 3.0
    # and always-confort never misses a start
    assert result["baselines"]["always_confort"]["zones"]["mairie/bureau"]["late_starts"] == 0
    # bisection: a handful of runs out of 24 candidates
    assert programmer["lead_search_runs"]["mairie/bureau"] <= 6


def test_a_zone_too_weak_for_any_lead_is_said_so() -> None:
    text = OFFICE.replace("heater_kw = 10.0", "heater_kw = 1.0")  # 1 kW can never reach 18.5 °C
    result = simulate(parse_config(text), days=2, warmup_days=0.5)
    programmer = result["baselines"]["programmer"]
    assert programmer["leads_not_found"] == ["mairie/bureau"]
    # no lead helps: the shortest lead that is late no more often than the longest one (12 h, τ < 48 h),
    # not a 12 h lead that would only burn energy
    assert programmer["leads_h"]["mairie/bureau"] == 0.5
    assert programmer["zones"]["mairie/bureau"]["late_starts"] == 2


def test_the_warm_up_is_excluded_from_the_figures() -> None:
    cold = simulate(_office(), days=2, warmup_days=0)
    warm = simulate(_office(), days=2, warmup_days=3)
    for result in (cold, warm):
        assert result["zones"]["mairie/bureau"]["occupied_hours"] == pytest.approx(18.0)  # two days, not five
    # the same two days: only the state the warm-up left differs (initial_c = 16 is the réduit anyway),
    # so the energies are close but the warm-up run does not count its three extra days
    assert warm["baselines"]["always_confort"]["heating_kwh"] < 2 * 24 * 10.0
    assert warm["baselines"]["always_confort"]["heating_kwh"] == pytest.approx(
        cold["baselines"]["always_confort"]["heating_kwh"], rel=0.1
    )
    assert warm["warmup_days"] == 3
    assert cold["warmup_days"] == 0


def test_presence_detectors_and_doors_follow_the_people_and_windows_their_contacts() -> None:
    config = load_config(VILLAGE)
    world = build(config, site_from_config(config), days=7, start=date(2026, 1, 12), warmup_days=0)
    hall = next(zw for zw in world.zones if zw.key == "salle/grande_salle")
    present_at = [world.clock.time(i) for i, p in enumerate(hall.present) if p]
    motion = world.inputs["salle-presence"]  # building-level PIR of the hall (parvis)
    assert motion, "the PIR never fired"
    assert all(t >= present_at[0] for t, _ in motion)
    ons = [t for t, active in motion if active]
    # it fires only while people are there (within a tick of a present tick)
    assert all(any(abs(t - p) <= 120 * NS for p in present_at) or t in present_at for t in ons)
    assert len(ons) >= 17 * 60 / 8  # at least every ~8 minutes of the 17 occupied hours
    # the hall's window contact is active exactly while the simulated window is open (Thursday 19:30, 15 min)
    window = world.inputs["salle-fenetre"]
    assert len(window) == 2
    (opened, on), (closed, off) = window
    assert (on, off) == (True, False)
    assert (closed - opened) == 15 * 60 * NS
    assert sum(hall.window_open) == 15  # minutes of one-minute ticks
    # the mairie's PIR (building-level) sees the office hours; nothing fires at night
    mairie = world.inputs["mairie-presence"]
    hours = {int((t // NS) % 86_400 // 3600) for t, active in mairie if active}
    assert hours <= set(range(7, 17))  # UTC hours of 08:30–17:30 local


def test_a_door_contact_opens_on_arrival_and_no_shows_bring_nobody() -> None:
    config = _office('[[simulation.no_shows]]\nzone = "mairie/bureau"\nstart = 2026-01-13T08:00:00\n')
    world = build(config, site_from_config(config), days=3, start=date(2026, 1, 12), warmup_days=0)
    office = world.zones[0]
    assert [o.present for o in office.occurrences] == [True, False, True]
    door = world.inputs["mairie-porte"]
    assert [active for _, active in door] == [True, False, True, False]  # Monday and Wednesday arrivals
    assert door[1][0] - door[0][0] == 120 * NS
    assert sum(office.present) == 2 * 9 * 60
    # gains only while people are there (the archetype-less shorthand has nobody by default: people = 0)
    assert max(office.gains_air) == 0.0


def test_seeded_no_shows_and_a_no_show_that_matches_nothing() -> None:
    text = OFFICE.replace("sensor_noise_c = 0.0", "sensor_noise_c = 0.0\nno_show_pct = 50\npeople = 3")
    config = parse_config(text)
    world_a = build(config, site_from_config(config), days=20, start=date(2026, 1, 12), warmup_days=0)
    absent = [not o.present for o in world_a.zones[0].occurrences]
    assert 4 <= sum(absent) <= 16  # about half of 20
    # the draw is per occurrence: a shorter run sees the same first days
    world_b = build(config, site_from_config(config), days=5, start=date(2026, 1, 12), warmup_days=0)
    assert [not o.present for o in world_b.zones[0].occurrences] == absent[:5]
    assert max(world_a.zones[0].gains_air) > 0  # three people bring their heat
    wrong = _office('[[simulation.no_shows]]\nzone = "mairie/bureau"\nstart = 2026-01-13T03:00:00\n')
    with pytest.raises(SimulationError, match=r"simulation\.no_shows\[0\]: no occupied period"):
        simulate(wrong, days=3, warmup_days=0)
