"""Degree-days (DJU): the Météo-France and COSTIC formulas, the climatological day, gaps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.report import degree_days as dd
from gateway.report.station_csv import StationCsvError, parse

HOUR_NS = 3600 * 10**9


@pytest.mark.parametrize(
    ("tmin", "tmax", "meteo", "costic"),
    [
        (2.0, 8.0, 13.0, 13.0),  # cold day: both are 18 − mean
        (10.0, 16.0, 5.0, 5.0),  # S >= Tx: the same
        (19.0, 28.0, 0.0, 0.0),  # S <= Tn: no heating
        (12.0, 26.0, 0.0, 6.0 * (0.08 + 0.42 * 6.0 / 14.0)),  # mild: COSTIC keeps the cool morning
        (15.0, 21.0, 0.0, 3.0 * (0.08 + 0.42 * 3.0 / 6.0)),
    ],
)
def test_the_two_french_methods_at_base_18(tmin, tmax, meteo, costic):
    assert dd.meteo(tmin, tmax) == pytest.approx(meteo)
    assert dd.costic(tmin, tmax) == pytest.approx(costic)
    assert dd.day_value(tmin, tmax, method="meteo") == pytest.approx(meteo)


def test_costic_is_continuous_at_its_bounds():
    assert dd.costic(10.0, 18.0) == pytest.approx(4.0)  # S = Tx: the first and middle cases agree
    assert dd.costic(10.0, 18.0001) == pytest.approx(4.0, abs=1e-3)
    assert dd.costic(18.0, 25.0) == 0.0
    assert dd.costic(17.9999, 25.0) == pytest.approx(0.0, abs=1e-3)


def hours(first: datetime, temps: list[float]) -> list[tuple[int, float, float, float]]:
    start = int(first.timestamp()) * 10**9
    return [(start + i * HOUR_NS, t, t, t) for i, t in enumerate(temps)]


def test_the_minimum_is_the_night_before_and_the_maximum_the_day_and_evening():
    """Tn of D over [D−1 18:00, D 18:00) UTC, Tx of D over [D 06:00, D+1 06:00) UTC."""
    day = date(2026, 1, 15)
    start = datetime(2026, 1, 14, 0, tzinfo=UTC)
    temps = [5.0] * 72
    temps[18 + 2] = -3.0  # 14 Jan 20:00 UTC: the night before the 15th -> the 15th's minimum
    temps[24 + 17] = -4.0  # 15 Jan 17:00: still the 15th's minimum window
    temps[24 + 18] = -9.0  # 15 Jan 18:00: the 16th's minimum window
    temps[24 + 23] = 12.0  # 15 Jan 23:00: the 15th's maximum window (until 06:00 on the 16th)
    temps[48 + 6] = 14.0  # 16 Jan 06:00: the 16th's maximum
    (ext,) = dd.daily_extremes(hours(start, temps), day, day)
    assert (ext.tmin_c, ext.tmax_c, ext.min_hours, ext.max_hours) == (-4.0, 12.0, 24, 24)
    assert ext.measured


def test_a_gap_over_an_extreme_is_not_a_measured_day_and_short_gaps_are_interpolated():
    first = date(2026, 1, 10)
    start = datetime(2026, 1, 9, 18, tzinfo=UTC)
    rows = hours(start, [4.0] * (24 * 8))
    # the 12th and 13th lose a morning each (07-11 UTC: 5 hours of both their windows): not measured
    gone = {int(datetime(2026, 1, d, h, tzinfo=UTC).timestamp()) * 10**9 for d in (12, 13) for h in range(7, 12)}
    rows = [r for r in rows if r[0] not in gone]
    days = dd.daily_extremes(rows, first, first + timedelta(days=5))
    assert [d.measured for d in days] == [True, True, False, False, True, True]
    values = dd.degree_days(days)
    assert values[date(2026, 1, 12)] == dd.DegreeDay(14.0, "interpolated")
    assert values[date(2026, 1, 11)] == dd.DegreeDay(14.0, "sensor")
    # three days in a row are too many to interpolate ...
    gone |= {int(datetime(2026, 1, 14, h, tzinfo=UTC).timestamp()) * 10**9 for h in range(7, 12)}
    rows = [r for r in rows if r[0] not in gone]
    extremes = dd.daily_extremes(rows, first, first + timedelta(days=5))
    assert sorted(dd.degree_days(extremes)) == [date(2026, 1, 10), date(2026, 1, 11), date(2026, 1, 15)]
    # ... unless a station's value fills the middle one: then each side is a one-day gap again
    days = dd.degree_days(extremes, station={date(2026, 1, 13): 9.5})
    assert days[date(2026, 1, 13)] == dd.DegreeDay(9.5, "station")
    assert days[date(2026, 1, 12)] == dd.DegreeDay(11.75, "interpolated")
    assert days[date(2026, 1, 14)] == dd.DegreeDay(11.75, "interpolated")


def test_window_covers_what_the_days_need():
    start, end = dd.window(date(2026, 1, 15), date(2026, 1, 16))
    assert datetime.fromtimestamp(start / 1e9, UTC) == datetime(2026, 1, 14, 18, tzinfo=UTC)
    assert datetime.fromtimestamp(end / 1e9, UTC) == datetime(2026, 1, 17, 6, tzinfo=UTC)


def test_station_csv_reads_french_and_iso_files():
    text = "\ufeffdate;dju\n# Tours, COSTIC base 18\n2026-01-15;12,4\n16/01/2026;13\n\n"
    assert parse(text) == {date(2026, 1, 15): 12.4, date(2026, 1, 16): 13.0}
    assert parse("2026-01-15,12.4\n") == {date(2026, 1, 15): 12.4}
    assert parse("2026-01-15\t7.5\n") == {date(2026, 1, 15): 7.5}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-01-15;12\n2026-01-15;13\n", "dju.csv:2: 2026-01-15 appears twice"),
        ("2026-01-15;douze\n", "dju.csv:1: 'douze' is not a number"),
        ("2026-01-15;12\n31/02/2026;3\n", "dju.csv:2:"),
        ("2026-01-15;75\n", "dju.csv:1: 75.0 degree-days is outside 0..60"),
        ("2026-01-15,12,4\n", "dju.csv:1: a decimal comma needs ';' or a tab as the separator"),
        ("2026-01-15\n", "dju.csv:1: expected 'date;dju'"),
    ],
)
def test_station_csv_errors_name_the_line(text, message):
    with pytest.raises(StationCsvError) as error:
        parse(text, file="dju.csv")
    assert str(error.value).startswith(message)
