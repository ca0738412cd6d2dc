"""The what-if run on examples/village.toml: the rules and both baselines in one world, the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drivers.sim.emitters import PilotWireConvector
from drivers.sim.weather import Offset, Weather
from gateway.config import load_config, parse_config
from gateway.errors import ConfigError
from gateway.simulate import SimulationError, Trace, simulate
from tests.support.procs import run_python

ROOT = Path(__file__).resolve().parents[2]
VILLAGE = ROOT / "examples" / "village.toml"
NS = 1_000_000_000


def test_pilot_wire_convector_regulates_around_the_order_setpoint() -> None:
    conv = PilotWireConvector(power_kw=5.0, confort_c=19.0, eco_c=16.0, hors_gel_c=7.0)
    assert conv.power("confort", 18.0) == 5.0
    assert conv.power("confort", 19.1) == 5.0  # inside its band: keeps heating
    assert conv.power("confort", 19.3) == 0.0
    assert conv.power("eco", 17.0) == 0.0
    assert conv.power("hors_gel", 6.0) == 5.0
    assert conv.power("arret", 0.0) == 0.0


def test_weather_is_a_deterministic_winter_profile() -> None:
    w = Weather(seed=3)
    day0 = 1_768_176_000 * NS  # 2026-01-12 00:00 UTC
    temps = [w.temperature_c(day0 + h * 3600 * NS) for h in range(7 * 24)]
    assert temps == [Weather(seed=3).temperature_c(day0 + h * 3600 * NS) for h in range(7 * 24)]
    assert temps != [Weather(seed=4).temperature_c(day0 + h * 3600 * NS) for h in range(7 * 24)]
    assert -8 < min(temps) < max(temps) < 18
    assert 1.0 < sum(temps) / len(temps) < 8.0
    # afternoons are warmer than early mornings
    assert temps[15] > temps[6]
    snap = Weather(seed=3, offsets=(Offset(day0, day0 + 3600 * NS, -10.0),))
    assert snap.temperature_c(day0) == pytest.approx(w.temperature_c(day0) - 10.0)


ZONES = {"mairie/bureaux", "ecole/classes", "salle/grande_salle", "eglise/nef"}
PER_CONTROLLER = {
    "heating_kwh",
    "occupied_hours",
    "occupied_hours_below_target",
    "occupied_pct_below_target",
    "below_target_hours_in_outages",
    "below_target_hours_in_windows",
    "late_starts",
    "occupied_hours_below_target_instant",
    "min_temperature_c",
    "max_temperature_c",
    "relay_switches",
    "gains_kwh",
    "loss_kwh",
    "stored_change_kwh",
}


@pytest.fixture(scope="module")
def village_week() -> tuple[dict, Trace]:  # type: ignore[type-arg]
    trace = Trace()
    return simulate(load_config(VILLAGE), days=7, warmup_days=3, trace=trace), trace


def test_the_village_week_reports_every_controller_zone_and_circuit(village_week) -> None:  # type: ignore[no-untyped-def]
    result, _ = village_week
    assert set(result) == {"start", "days", "warmup_days", "seed", "weather", "zones", "lighting", "baselines", "totals"}
    assert result["warmup_days"] == 3
    assert set(result["zones"]) == ZONES
    for zone in result["zones"].values():
        assert set(zone) == PER_CONTROLLER | {"baseline_kwh", "programmer_kwh", "comfort_on", "model"}
        assert zone["heating_kwh"] > 0
    assert result["zones"]["eglise/nef"]["comfort_on"] == "felt"  # pew heaters: judged on what people feel
    assert result["zones"]["mairie/bureaux"]["comfort_on"] == "air"
    baselines = result["baselines"]
    assert set(baselines) == {"always_confort", "programmer"}
    for side in baselines.values():
        assert set(side["zones"]) == ZONES
        for zone in side["zones"].values():
            assert set(zone) == PER_CONTROLLER
        assert side["heating_kwh"] == pytest.approx(sum(z["heating_kwh"] for z in side["zones"].values()), abs=0.3)
    assert set(baselines["programmer"]["leads_h"]) == ZONES
    totals = result["totals"]
    assert {"heating_kwh", "baseline_kwh", "saving_pct", "saving_vs_programmer_pct", "saving_vs_always_pct"} <= set(
        totals
    )
    assert totals["saving_pct"] == totals["saving_vs_always_pct"]  # saving_pct keeps its meaning
    assert totals["baseline_kwh"] == baselines["always_confort"]["heating_kwh"]
    for circuit in result["lighting"].values():
        assert set(circuit) == {"on_hours", "baseline_on_hours"}
        assert 0 < circuit["on_hours"] < circuit["baseline_on_hours"]


def _sides(result: dict) -> list[tuple[str, dict]]:  # type: ignore[type-arg]
    out = [(f"rules {k}", z) for k, z in result["zones"].items()]
    for name, side in result["baselines"].items():
        out += [(f"{name} {k}", z) for k, z in side["zones"].items()]
    return out


def test_every_controller_obeys_the_heat_balance_in_the_same_world(village_week) -> None:  # type: ignore[no-untyped-def]
    result, _ = village_week
    occupied = {k: z["occupied_hours"] for k, z in result["zones"].items()}
    # the hall: Tuesday and Thursday evenings (4 h each) and the Saturday loto (9 h); Friday's theatre is
    # an explicit no-show ([[simulation.no_shows]]): nobody comes, no gains, no occupied hours
    assert occupied["salle/grande_salle"] == pytest.approx(17.0)
    assert occupied["eglise/nef"] == pytest.approx(2.0)
    for name, zone in _sides(result):
        # heating + gains = heat lost + heat stored (rounded figures)
        balance = zone["heating_kwh"] + zone["gains_kwh"] - zone["loss_kwh"] - zone["stored_change_kwh"]
        assert abs(balance) < 0.5, (name, balance)
        key = name.split(" ", 1)[1]
        assert zone["occupied_hours"] == occupied[key], name  # identical worlds: identical occupancy
    for key in ZONES:
        programmer = result["baselines"]["programmer"]["zones"][key]
        always = result["baselines"]["always_confort"]["zones"][key]
        # holding confort all week costs more than a programmer's setbacks, and never less comfort
        assert programmer["heating_kwh"] <= always["heating_kwh"] + 0.5, key
        assert always["occupied_hours_below_target"] <= programmer["occupied_hours_below_target"] + 0.05, key
        # the gains are the same world's: occupants and sunshine do not depend on the controller
        gains = [zone["gains_kwh"] for name, zone in _sides(result) if name.endswith(key)]
        assert max(gains) - min(gains) < 0.2, key
    programmer = result["baselines"]["programmer"]
    for key, lead in programmer["leads_h"].items():
        if key not in programmer["leads_not_found"]:
            assert programmer["zones"][key]["late_starts"] == 0, key  # the tuned lead has every start on time
            assert 0.5 <= lead <= 36


def test_the_simulated_outage_trips_the_fail_safe_and_the_loto_is_preheated(village_week) -> None:  # type: ignore[no-untyped-def]
    _, trace = village_week
    mairie = [(d, z) for d in trace.decisions for z in d.zones if z.zone == "mairie/bureaux"]
    failsafe = [d for d, z in mairie if z.reason.code.startswith("heat_failsafe")]
    assert failsafe, "the mairie-t1 outage (Wed 02:00-05:00) must trip the fail-safe"
    assert any(n.kind == "sensor_stale" for d in trace.decisions for n in d.notices)
    hall = [(d, z) for d in trace.decisions for z in d.zones if z.zone == "salle/grande_salle"]
    preheat = [z for _, z in hall if z.reason.param("source") == "preheat" and z.reason.param("label") == "Loto"]
    assert preheat
    assert all(z.target_c == 19.0 for z in preheat)


def test_same_configuration_same_figures() -> None:
    config = load_config(VILLAGE)
    first = simulate(config, days=0.5, warmup_days=0.5)
    assert first == simulate(config, days=0.5, warmup_days=0.5)
    assert json.dumps(first, sort_keys=True) == json.dumps(simulate(config, days=0.5, warmup_days=0.5), sort_keys=True)


def test_simulate_command_prints_the_json(tmp_path: Path) -> None:
    out = run_python(
        "-m", "gateway.cli", "simulate", "--config", str(VILLAGE), "--days", "1", "--start", "2026-01-13",
        "--warmup-days", "7", "--json", timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["zones"]["salle/grande_salle"]["occupied_hours"] == 4.0  # Tuesday 18:30–22:30
    assert result["warmup_days"] == 7
    assert set(result["baselines"]["programmer"]["leads_h"]) == ZONES
    bad = tmp_path / "bad.toml"
    bad.write_text(
        VILLAGE.read_text(encoding="utf-8").replace("floor_area_m2 = 120", "floor_area_m2 = -1"),
        encoding="utf-8",
    )
    refused = run_python("-m", "gateway.cli", "simulate", "--config", str(bad), "--json", timeout=60)
    assert refused.returncode == 2
    assert 'simulation.zones."mairie/bureaux".floor_area_m2' in refused.stderr


def test_a_heated_zone_without_a_thermal_model_is_refused() -> None:
    text = VILLAGE.read_text(encoding="utf-8")
    start = text.index('[simulation.zones."eglise/nef"]')
    end = text.index("[[simulation.bookings]]")
    config = parse_config(text[:start] + text[end:], base_dir=VILLAGE.parent)
    with pytest.raises(SimulationError, match="eglise/nef"):
        simulate(config, days=0.1)


def test_simulation_cross_checks_name_the_bad_entries() -> None:
    text = VILLAGE.read_text(encoding="utf-8").replace('sensor = "mairie-t1"', 'sensor = "nobody"')
    with pytest.raises(ConfigError, match=r"simulation\.outages\[0\]\.sensor"):
        parse_config(text, base_dir=VILLAGE.parent)
