"""bench/sobriety.py, short: one village, one week, two days — structure and physics invariants only (the
savings are the rules team's figures, printed by the full matrix, not asserted here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.config import load_config
from tests.support.procs import run_python

ROOT = Path(__file__).resolve().parents[2]
VILLAGES = [ROOT / "examples" / "village.toml", *sorted((ROOT / "bench" / "villages").glob("*.toml"))]


@pytest.mark.parametrize("path", VILLAGES, ids=lambda p: p.stem)
def test_every_matrix_village_is_a_valid_configuration(path: Path) -> None:
    config = load_config(path)
    assert config.simulation.zones
    heated = {f"{b}/{z}" for b, building in config.buildings.items() for z, zone in building.zones.items() if zone.heating}
    assert set(config.simulation.zones) == heated  # every heated zone has its building model


def test_the_short_matrix_prints_consistent_figures() -> None:
    out = run_python(
        "bench/sobriety.py", "--villages", "bench/villages/hameau.toml", "--weeks", "cold", "--seeds", "2",
        "--days", "2", "--warmup-days", "1", "--jobs", "1", "--json", timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert {"runs", "median_saving_vs_programmer_pct", "median_saving_vs_always_pct", "criteria", "wall_s"} <= set(data)
    assert set(data["criteria"]) == {"saving_met", "comfort_met", "zones_over_comfort_limit"}
    (run,) = data["runs"]
    assert (run["village"], run["week"], run["seed"]) == ("hameau", "cold", 2)
    assert run["weather"]["min_outdoor_c"] < -5  # the cold week's nights
    assert set(run["zones"]) == {"mairie/bureau", "salle/salle", "chapelle/nef"}
    for key, zone in run["zones"].items():
        sides = [zone["rules"], zone["programmer"], zone["always_confort"]]
        for side in sides:
            assert abs(side["balance_kwh"]) < 0.5, key  # heating + gains = loss + stored
        assert zone["programmer"]["kwh"] <= zone["always_confort"]["kwh"] + 0.5, key
        if zone["lead_found"]:
            assert zone["programmer"]["late_starts"] == 0, key
    total = sum(z["rules"]["kwh"] for z in run["zones"].values())
    assert run["rules_kwh"] == pytest.approx(total, abs=0.5)
