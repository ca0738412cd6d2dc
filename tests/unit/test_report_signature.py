"""Energy signature and climate normalisation, on data with a known answer.

A building whose daily consumption follows an exact signature (``kWh = base + slope × DJU``) has saved
nothing, whether the current winter is colder or milder than the reference one: the normalised saving
must be 0 %. A building whose heating slope fell by 20 % saved a known share at the reference's
climate. Checked on the pure arithmetic, then end to end: hourly temperatures and meter counters
written into a real hourly archive, read back by :class:`gateway.report.daily.DailyFigures`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from drivers.sim.climate import Climate
from gateway.archive import Archive
from gateway.clock import ManualClock
from gateway.config import parse_config
from gateway.model import Reading
from gateway.report import degree_days as dd
from gateway.report import signature as sg
from gateway.report.compare import compare
from gateway.report.daily import DailyFigures
from tests.support.village import ble_sensor, building, meter, site, tcp_bus

BASE, SLOPE = 40.0, 6.0  # kWh/day without heating, kWh per degree-day
PARIS = ZoneInfo("Europe/Paris")


def exact_days(first: date, dju: list[float], *, slope: float = SLOPE) -> list[tuple[date, float, float]]:
    return [(first + timedelta(days=i), d, BASE + slope * d) for i, d in enumerate(dju)]


def period(days: list[tuple[date, float, float]]) -> sg.Period:
    return sg.Period(sum(k for _, _, k in days), len(days), sum(d for _, d, _ in days), len(days))


def winter(offset: float, seed: int = 3) -> list[float]:
    climate = Climate(seed=seed)
    first = date(2025, 11, 3)
    return [
        dd.costic(w.tmin_c + offset, w.tmax_c + offset)
        for w in (climate.day(first + timedelta(days=i)) for i in range(140))
    ]


@pytest.mark.parametrize("offset", [-3.0, +3.0], ids=["colder", "milder"])
def test_an_exact_signature_saves_nothing_in_a_colder_or_a_milder_winter(offset):
    reference = exact_days(date(2024, 11, 3), winter(0.0))
    current = exact_days(date(2025, 11, 3), winter(offset))
    assert abs(period(current).dju - period(reference).dju) > 300  # really another winter
    fitted = sg.fit(current)
    assert fitted is not None
    assert fitted.weekly
    assert fitted.slope == pytest.approx(SLOPE)
    assert fitted.base_per_day == pytest.approx(BASE)
    slope, whose = sg.choose_slope(fitted, sg.fit(reference))
    assert whose == "current"
    assert sg.saving_pct(period(current), period(reference), slope) == pytest.approx(0.0, abs=1e-9)
    # the naive correction (all the energy times DJU_ref / DJU_cur) scales the base load too: a false saving
    # in the colder winter, a false loss in the milder one
    cur, ref = period(current), period(reference)
    naive = 100 * (1 - cur.energy * (ref.dju / cur.dju) / ref.energy)
    assert naive > 2 if offset < 0 else naive < -2


def test_a_building_heating_20_percent_less_per_degree_day_saves_the_known_share():
    reference = exact_days(date(2024, 11, 3), winter(0.0))
    current = exact_days(date(2025, 11, 3), winter(-3.0), slope=0.8 * SLOPE)
    d_ref = period(reference).dju_rate
    known = 100.0 * (1 - (BASE + 0.8 * SLOPE * d_ref) / (BASE + SLOPE * d_ref))
    slope, _ = sg.choose_slope(sg.fit(current), sg.fit(reference))
    assert sg.saving_pct(period(current), period(reference), slope) == pytest.approx(known)
    assert known == pytest.approx(12.6, abs=1.0)  # 20 % of the heating part, about two thirds of the total


def test_without_weather_spread_there_is_no_slope_and_a_short_period_uses_the_reference():
    flat = [(date(2026, 7, 1) + timedelta(days=i), 0.0, 30.0 + i % 3) for i in range(20)]
    summer = sg.fit(flat)
    assert summer is not None
    assert summer.slope == 0.0
    assert not summer.reliable
    reference = sg.fit(exact_days(date(2024, 11, 3), winter(0.0)))
    assert sg.choose_slope(summer, reference) == (pytest.approx(SLOPE), "reference")
    assert sg.fit(flat[:3]) is None


# ---- end to end through the hourly archive ---------------------------------------------------------------
CONFIG = (
    site()
    + "\n"
    + building("mairie", "Mairie")
    + building("ecole", "École")
    + tcp_bus("compteurs", port=15502)
    + meter("compteurs", "mairie-general", unit=1, profile="sdm120", building="mairie")
    + meter("compteurs", "ecole-general", unit=2, profile="sdm120", building="ecole")
    + ble_sensor("exterieur", "A4:C1:38:00:00:01", building="mairie")
    + """[report]
outdoor_sensor = "exterieur"
[service]
state_dir = "{state}"
"""
)


def write_year(
    archive: Archive, first: date, days: int, offset: float, slopes: dict[str, float], counters: dict[str, float]
) -> None:
    """Hourly outdoor temperatures (the climate shifted by ``offset``), and meters that use exactly
    ``BASE + slope × DJU`` each local day, DJU computed from those same temperatures."""
    climate = Climate(seed=5)
    start = datetime(first.year, first.month, first.day, tzinfo=PARIS) - timedelta(days=2)
    hours = (days + 4) * 24
    stamps = [int((start + timedelta(hours=h)).timestamp()) * 10**9 for h in range(hours)]
    temps = [(ns, round(climate.temperature_c(ns) + offset, 3)) for ns in stamps]
    archive.add([Reading.make("climate", {"site": "saint-martin", "device": "exterieur"}, {"temperature_c": t},
                              time_ns=ns) for ns, t in temps])
    extremes = dd.daily_extremes([(ns, t, t, t) for ns, t in temps], first, first + timedelta(days=days))
    dju = {d: v.value for d, v in dd.degree_days(extremes).items()}
    readings = []
    moment = datetime(first.year, first.month, first.day, tzinfo=PARIS)
    for device in slopes:  # the counter as the day starts (the increase into a sample counts in its hour)
        counters.setdefault(device, 1000.0)
        readings.append(Reading.make("meter", {"site": "saint-martin", "device": device, "building": device.split("-")[0]},
                                     {"energy_import_kwh": round(counters[device], 6)},
                                     time_ns=int((moment - timedelta(hours=1)).timestamp()) * 10**9))
    end = moment + timedelta(days=days)
    while moment < end:
        day = moment.date()
        hours_today = int((datetime.combine(day + timedelta(days=1), datetime.min.time(), PARIS)
                           - datetime.combine(day, datetime.min.time(), PARIS)).total_seconds() // 3600)
        for device, slope in slopes.items():
            counters[device] += (BASE + slope * dju[day]) / hours_today
            building = device.split("-")[0]
            readings.append(Reading.make("meter", {"site": "saint-martin", "device": device, "building": building},
                                         {"energy_import_kwh": round(counters[device], 6)},
                                         time_ns=int(moment.timestamp()) * 10**9))
        moment = (moment.astimezone(UTC) + timedelta(hours=1)).astimezone(PARIS)
    archive.add(readings)
    archive.flush()


@pytest.mark.parametrize("offset", [-3.0, +3.0], ids=["colder", "milder"])
def test_through_the_archive_the_exact_signature_saves_nothing(tmp_path: Path, offset):
    config = parse_config(CONFIG.replace("{state}", str(tmp_path)))
    clock = ManualClock(datetime(2026, 6, 1, tzinfo=UTC))
    reference = Archive(tmp_path / "reference.sqlite", clock=clock)
    # the two winters in time order (the archive folds a counter's readings in order)
    counters: dict[str, float] = {}
    write_year(reference, date(2024, 11, 4), 126, 0.0, {"mairie-general": SLOPE, "ecole-general": SLOPE}, counters)
    write_year(reference, date(2025, 11, 3), 126, offset, {"mairie-general": SLOPE, "ecole-general": 0.8 * SLOPE},
               counters)
    figures = DailyFigures(config=config, archive=reference, now=clock.now)
    result = compare(figures, date(2025, 11, 3), date(2026, 3, 8), reference=(date(2024, 11, 4), date(2025, 3, 9)))
    mairie, ecole = result.buildings
    assert result.dju_days == result.ref_dju_days == 126
    assert abs(result.dju - result.ref_dju) > 250
    assert mairie.current.energy_days == 126
    assert mairie.slope_from == "current"
    assert mairie.saving_pct == pytest.approx(0.0, abs=1e-6)
    assert mairie.normalised_kwh == pytest.approx(mairie.reference.energy_kwh, rel=1e-6)
    d_ref = result.ref_dju / 126
    known = 100.0 * (1 - (BASE + 0.8 * SLOPE * d_ref) / (BASE + SLOPE * d_ref))
    assert ecole.saving_pct == pytest.approx(known, abs=1e-6)
    reference.close()
