"""Seeding the demo's history: plausible, deterministic, complete or nothing, never twice."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from drivers.sim.climate import Climate
from gateway.archive import read_hours
from gateway.config import load_config
from gateway.demo_history import managed_since, seed_history
from gateway.report import degree_days as dd
from gateway.report.daily import DailyFigures
from gateway.report.reader import ReadOnlyArchive

ROOT = Path(__file__).resolve().parents[2]
END = datetime(2026, 12, 7, 9, tzinfo=UTC)


def village():
    return load_config(ROOT / "examples" / "village.toml")


def digest(path: Path) -> str:
    rows = [(r.measurement, sorted(r.tags.items()), r.field, r.hour_ns, r.count, round(r.mean, 9), r.delta)
            for r in read_hours(path, 0, 2**62)]
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_the_same_seed_gives_the_same_archive_and_a_second_run_changes_nothing(tmp_path: Path):
    config = village()
    one, two = tmp_path / "one" / "archive.sqlite", tmp_path / "two" / "archive.sqlite"
    one.parent.mkdir()
    two.parent.mkdir()
    first = seed_history(config, one, days=20, end=END)
    assert first.seeded
    assert first.readings > 20 * 24 * 10
    assert seed_history(config, two, days=20, end=END).readings == first.readings
    assert digest(one) == digest(two)
    again = seed_history(config, one, days=40, end=END + timedelta(days=3))
    assert not again.seeded
    assert "already holds data since 2026-11-17" in again.message
    assert digest(one) == digest(two)
    assert not [p.name for p in one.parent.iterdir() if "seeding" in p.name]  # no work file left behind


def test_the_history_looks_like_a_village(tmp_path: Path):
    config = village()
    path = tmp_path / "archive.sqlite"
    seed_history(config, path, days=60, end=END)
    figures = DailyFigures(config=config, archive=ReadOnlyArchive(path), now=lambda: END)
    first, last = date(2026, 10, 10), date(2026, 12, 5)
    dju = figures.degree_days(first, last)
    assert len(dju) == (last - first).days + 1
    assert all(v.source == "sensor" for v in dju.values())
    assert 4 < sum(v.value for v in dju.values()) / len(dju) < 16  # Loire valley, autumn into winter
    for building in config.buildings:
        energy = figures.energy(building, first, last)
        assert len(energy) == len(dju)
        assert all(0 < kwh < 2000 for kwh in energy.values())
        assert figures.heater_hours(building, first, last)
    cold = max(dju, key=lambda d: dju[d].value)
    mild = min(dju, key=lambda d: dju[d].value)
    assert figures.energy("mairie", cold, cold)[cold] > figures.energy("mairie", mild, mild)[mild]
    water = figures.water("ecole", first, last)
    assert max(water.values()) > 0
    assert min(water.values()) == 0.0  # nobody at school on Sundays
    # the façades: lit from dusk to 23:00 once the gateway runs (it took over on 1 September)
    assert managed_since(END, 10) == date(2026, 9, 1)
    lit = figures.lit_hours("mairie-facade", date(2026, 11, 20), date(2026, 11, 26))
    assert all(5.0 <= hours <= 7.0 for hours in lit.values()), lit


def test_a_year_before_the_gateway_took_over_the_facades_were_lit_all_night(tmp_path: Path):
    config = village()
    path = tmp_path / "archive.sqlite"
    end = datetime(2025, 12, 1, tzinfo=UTC)  # managed since 1 Sept 2025: ask for November 2024
    seed_history(config, path, days=380, end=end)
    figures = DailyFigures(config=config, archive=ReadOnlyArchive(path), now=lambda: end)
    before = figures.lit_hours("mairie-facade", date(2024, 11, 20), date(2024, 11, 26))
    after = figures.lit_hours("mairie-facade", date(2025, 11, 20), date(2025, 11, 26))
    assert all(14.0 <= h <= 16.5 for h in before.values()), before
    assert sum(after.values()) < sum(before.values()) / 2


def test_the_climate_is_seasonal_and_reproducible():
    climate = Climate(seed=7)
    january = [climate.day(date(2026, 1, d)) for d in range(1, 32)]
    july = [climate.day(date(2026, 7, d)) for d in range(1, 32)]
    assert sum(w.tmax_c for w in july) / 31 - sum(w.tmax_c for w in january) / 31 > 12
    assert Climate(seed=7).day(date(2026, 1, 5)) == january[4]
    assert Climate(seed=8).day(date(2026, 1, 5)) != january[4]
    year = [climate.day(date(2025, 1, 1) + timedelta(days=i)) for i in range(365)]
    total = sum(dd.costic(w.tmin_c, w.tmax_c) for w in year)
    assert 2000 < total < 2700  # Tours: about 2,300 degree-days a year (COSTIC, base 18 °C)
