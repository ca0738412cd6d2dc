"""The simulator's physics: the two-node zone model, the archetypes, sunshine and the one-node shorthand."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from drivers.sim import ArchetypeError, archetype_names, load_archetype, one_node, zone_params
from drivers.sim.archetypes import OVERRIDABLE, parse_archetype
from drivers.sim.solar import Sky
from drivers.sim.zone_model import ZoneModel

NS = 1_000_000_000

#: Documented ranges (the archetype files' "ranges", /work/shared/REFERENCE.md): (area m², τ h, UA kW/K)
RANGES = {
    "mairie-pierre": (120, (20, 60), (0.25, 0.40)),
    "ecole-1970": (250, (20, 60), (0.5, 0.9)),
    "salle-des-fetes-1980": (300, (15, 25), (0.4, 0.9)),
    "eglise-pierre": (400, (50, 100), (2.0, 3.5)),
    "gymnase": (800, (12, 30), (1.0, 2.5)),
    "mediatheque": (200, (30, 60), (0.18, 0.32)),
    "cantine": (150, (15, 35), (0.3, 0.45)),
}


def _utc(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp()) * NS


def test_every_archetype_is_valid_sourced_and_in_its_documented_range() -> None:
    assert archetype_names() == set(RANGES)
    for name, (area, (tau_lo, tau_hi), (ua_lo, ua_hi)) in RANGES.items():
        archetype = load_archetype(name)
        assert archetype.sources
        assert archetype.ranges
        assert archetype.title
        params = zone_params(name, area)
        assert tau_lo <= params.time_constant_h <= tau_hi, (name, params.time_constant_h)
        assert ua_lo <= params.ua_kw_per_k <= ua_hi, (name, params.ua_kw_per_k)
        # the air follows within minutes to tens of minutes; the heater is 1.2-1.5x the design load
        assert 5 <= params.air_time_constant_h * 60 <= 60, name
        if params.emitter.kind != "local":
            load = params.design_load_kw(archetype.params.design_indoor_c, -7.0)
            assert 0.95 * load <= params.heater_kw <= 1.55 * load, name
    church = zone_params("eglise-pierre", 400)
    assert 100 <= church.heat_capacity_kwh_per_k <= 300


def test_a_bad_archetype_file_or_override_names_the_field() -> None:
    with pytest.raises(ArchetypeError, match=r"x\.toml: params\.height_m"):
        parse_archetype('name = "x"\ntitle = "X"\nsources = "s"\nranges = "r"\n[params]\n', where="x.toml")
    with pytest.raises(ArchetypeError, match="unknown archetype 'chateau'"):
        zone_params("chateau", 100)
    with pytest.raises(ArchetypeError, match="infiltration_ach"):
        zone_params("mairie-pierre", 120, {"infiltration_ach": -1})
    with pytest.raises(ArchetypeError, match="not archetype parameters: colour"):
        zone_params("mairie-pierre", 120, {"colour": "blue"})
    assert zone_params("mairie-pierre", 120, {"infiltration_ach": 1.2}).ua_kw_per_k > zone_params(
        "mairie-pierre", 120
    ).ua_kw_per_k


def _run(model: ZoneModel, hours: float, dt_s: float = 60.0, **inputs: float) -> None:
    for _ in range(int(hours * 3600 / dt_s)):
        model.step(dt_s, **inputs)  # type: ignore[arg-type]


def test_energy_is_conserved_over_any_step() -> None:
    # heater + gains that entered = heat stored + heat lost, whatever the step length
    for dt_s in (5.0, 60.0, 900.0, 3600.0 * 5):
        model = ZoneModel(zone_params("ecole-1970", 250, initial_c=14.0))  # emitter lag: heat it holds counts
        before = model.stored_kwh
        _run(model, 30, dt_s, heater_kw=20.0, outdoor_c=-3.0, gains_air_kw=1.0, gains_rad_kw=2.0, extra_h_ao=0.3)
        balance = model.energy_kwh + model.gains_kwh - (model.stored_kwh - before) - model.loss_kwh
        assert abs(balance) < 1e-6, (dt_s, balance)
        assert model.energy_kwh == pytest.approx(20.0 * 30)


def test_the_exact_step_does_not_depend_on_the_tick() -> None:
    # the two-node solution is exact: one 15-minute step equals 180 steps of 5 s
    instant = zone_params("mairie-pierre", 120, {"emitter_lag_min": 0}, initial_c=10.0, sensor_lag_min=0)
    coarse, fine = ZoneModel(instant), ZoneModel(instant)
    coarse.step(900, heater_kw=11.5, outdoor_c=0.0, gains_rad_kw=0.5)
    for _ in range(180):
        fine.step(5, heater_kw=11.5, outdoor_c=0.0, gains_rad_kw=0.5)
    assert coarse.air_c == pytest.approx(fine.air_c, abs=1e-9)
    assert coarse.mass_c == pytest.approx(fine.mass_c, abs=1e-9)
    # an emitter that takes minutes to warm enters as its mean output over a step: close, and stable
    lagged = zone_params("mairie-pierre", 120, initial_c=10.0)
    coarse, fine = ZoneModel(lagged), ZoneModel(lagged)
    coarse.step(900, heater_kw=11.5, outdoor_c=0.0)
    for _ in range(180):
        fine.step(5, heater_kw=11.5, outdoor_c=0.0)
    assert coarse.air_c == pytest.approx(fine.air_c, abs=0.3)
    assert coarse.energy_kwh == pytest.approx(fine.energy_kwh)
    assert coarse.output_kw == pytest.approx(fine.output_kw, abs=1e-9)  # the emitter's own state is exact


def test_emitters_take_minutes_and_thermometers_lag_the_air() -> None:
    params = zone_params("mairie-pierre", 120, initial_c=15.0, sensor_lag_min=6.0)
    assert zone_params("mairie-pierre", 120).sensor_lag_min == 0.0  # by default sensors read the air
    model = ZoneModel(params)
    model.step(60 * params.emitter.lag_min, heater_kw=11.5, outdoor_c=0.0)
    assert model.output_kw == pytest.approx(11.5 * (1 - math.exp(-1)))  # one emitter time constant
    _run(model, 0.5, heater_kw=11.5, outdoor_c=0.0)
    assert model.sensed_c < model.air_c  # warming: the thermometer in its case is behind
    _run(model, 0.5, heater_kw=0.0, outdoor_c=0.0)
    assert model.sensed_c > model.air_c  # cooling: it is behind the other way
    assert model.sensor_reading(0.0) == round(model.sensed_c, 2)


def test_the_steady_state_is_the_ua_balance() -> None:
    params = zone_params("salle-des-fetes-1980", 300)
    model = ZoneModel(params, air_c=5.0, mass_c=5.0)
    model.step(3600 * 24 * 60, heater_kw=10.0, outdoor_c=2.0)  # two months: settled
    model.step(3600 * 24 * 60, heater_kw=10.0, outdoor_c=2.0)  # (the emitter's output too)
    # heat in = heat out through the air and the structure
    out = params.h_ao_kw_per_k * (model.air_c - 2.0) + params.h_mo_kw_per_k * (model.mass_c - 2.0)
    lost_through_glass = 10.0 * (1 - params.emitter.convective) * params.rad_lost
    assert out + lost_through_glass == pytest.approx(10.0, rel=1e-9)
    # with equal air and mass temperatures the zone's loss coefficient is UA
    uniform = ZoneModel(params)
    uniform.temperature_c = 20.0
    assert uniform.air_c == uniform.mass_c == 20.0
    assert params.ua_kw_per_k == pytest.approx(params.h_ao_kw_per_k + params.h_mo_kw_per_k)


def test_an_open_window_drops_the_air_within_minutes_while_the_structure_barely_moves() -> None:
    # Given the mairie heated to 19 °C through and through on a 0 °C day, and its twin with windows shut
    params = zone_params("mairie-pierre", 120)
    model, shut = ZoneModel(params), ZoneModel(params)
    model.temperature_c = shut.temperature_c = 19.0
    # When a casement window is opened for 10 minutes (heater off in both)
    _run(model, 10 / 60, heater_kw=0.0, outdoor_c=0.0, extra_h_ao=params.window_loss_kw_per_k)
    _run(shut, 10 / 60, heater_kw=0.0, outdoor_c=0.0)
    # Then the air has fallen at least 1 °C (fast enough for slope detection), the walls 0.1 °C at most,
    # and most of it is the window's doing
    assert model.air_c <= 18.0
    assert model.mass_c >= 18.9
    assert shut.air_c - model.air_c > 0.8
    # And once it is closed the air rejoins its twin within the hour (the walls kept the heat)
    _run(model, 1.0, heater_kw=0.0, outdoor_c=0.0)
    _run(shut, 1.0, heater_kw=0.0, outdoor_c=0.0)
    assert shut.air_c - model.air_c < 0.25


def test_occupants_and_sunshine_warm_the_room() -> None:
    params = zone_params("salle-des-fetes-1980", 300)
    empty, full = ZoneModel(params, air_c=15.0, mass_c=15.0), ZoneModel(params, air_c=15.0, mass_c=15.0)
    people_kw = 100 * params.person_w / 1000  # a loto of 100 people: ~7.5 kW
    _run(empty, 3, heater_kw=0.0, outdoor_c=0.0)
    _run(full, 3, heater_kw=0.0, outdoor_c=0.0, gains_air_kw=people_kw / 2, gains_rad_kw=people_kw / 2)
    assert full.air_c > empty.air_c + 1.0
    assert full.gains_kwh == pytest.approx(people_kw * 3)


def test_solar_gains_are_zero_at_night_and_favour_the_south_at_noon() -> None:
    sky = Sky(47.39, 0.98, seed=3, cloud_cover=0.0)
    night = sky.on_facades(_utc(2026, 1, 14, 23), (0.0, 90.0, 180.0, 270.0))
    assert night == (0.0, 0.0, 0.0, 0.0)
    north, east, south, west = sky.on_facades(_utc(2026, 1, 14, 12), (0.0, 90.0, 180.0, 270.0))
    assert 500 < south < 900  # a clear January noon on a south façade
    assert south > east > 0
    assert south > west > 0
    assert north < 150
    morning = sky.on_facades(_utc(2026, 1, 14, 9, 30), (90.0, 270.0))
    assert morning[0] > morning[1]  # the east façade gets the morning sun
    cloudy = Sky(47.39, 0.98, seed=3, cloud_cover=1.0)
    assert cloudy.horizontal(_utc(2026, 1, 14, 12))[0] < 0.3 * sky.horizontal(_utc(2026, 1, 14, 12))[0]
    # the daily cloud fraction is seeded and reproducible day by day
    grey = Sky(47.39, 0.98, seed=3, cloud_cover=0.7)
    days = [grey.cloud_fraction(_utc(2026, 1, d, 12)) for d in range(1, 29)]
    assert days == [Sky(47.39, 0.98, seed=3, cloud_cover=0.7).cloud_fraction(_utc(2026, 1, d, 12)) for d in range(1, 29)]
    assert 0.55 < sum(days) / len(days) < 0.85


def test_the_one_node_shorthand_is_the_old_first_order_model() -> None:
    # T(t) = T_eq + (T0 − T_eq)·exp(−t/τ), τ = C/UA, T_eq = T_out + P/UA (the first version's closed form)
    params = one_node(4.0, 0.4, 8.0, initial_c=10.0)
    model = ZoneModel(params)
    model.step(3600 * 10, heater_kw=8.0, outdoor_c=0.0)
    assert model.air_c == pytest.approx(20.0 + (10.0 - 20.0) * math.exp(-1), abs=1e-12)
    assert model.energy_kwh == pytest.approx(80.0)
    small = ZoneModel(params)
    for _ in range(600):
        small.step(60, heater_kw=8.0, outdoor_c=0.0)
    assert small.air_c == pytest.approx(model.air_c, abs=1e-9)
    assert params.time_constant_h == pytest.approx(10.0)
    assert params.ua_kw_per_k == pytest.approx(0.4)
    with pytest.raises(ValueError, match="positive"):
        one_node(0, 1, 1)


def test_local_heating_warms_the_people_not_the_nave() -> None:
    params = zone_params("eglise-pierre", 400, initial_c=8.0)
    model = ZoneModel(params)
    _run(model, 1.0, heater_kw=params.heater_kw, outdoor_c=2.0)
    # the boost after three of its time constants, a little behind for the emitter's own 5-minute lag
    assert model.felt_c - model.air_c == pytest.approx(params.emitter.boost_c * (1 - math.exp(-3)), abs=0.2)
    assert model.comfort_c == model.felt_c
    assert model.air_c < 9.5  # the nave's air barely moves
    _run(model, 1.0, heater_kw=0.0, outdoor_c=2.0)  # three time constants after it stops (and the emitter cools)
    assert model.felt_c - model.air_c < 0.1 * params.emitter.boost_c


def test_zone_overrides_cover_every_archetype_parameter() -> None:
    from gateway.schema.simulation import SimZoneConfig

    assert set(SimZoneConfig.model_fields) >= OVERRIDABLE
