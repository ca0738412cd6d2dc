"""Schedules: days, gaps (R241-27), exceptions, public holidays, bookings and both DST change days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from rules.config import HeatingConfig, parse_days
from rules.holidays import easter, french_holidays
from rules.schedule import evaluate, from_ns, intervals
from rules.types import Booking
from tests.unit.rules_village import HALL, HOUR, PARIS, at, hall_heating, ns


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("mon-fri", (0, 1, 2, 3, 4)),
        ("tue,thu,sat", (1, 3, 5)),
        ("weekend", (5, 6)),
        ("lun-mer", (0, 1, 2)),
        ("sat-mon", (0, 5, 6)),
        (["sun"], (6,)),
        ("daily", (0, 1, 2, 3, 4, 5, 6)),
    ],
)
def test_days_are_parsed_from_english_french_ranges_and_lists(text: object, days: tuple[int, ...]) -> None:
    assert parse_days(text) == days


def test_an_unknown_day_or_time_is_a_configuration_error() -> None:
    with pytest.raises(ValidationError, match="unknown day"):
        hall_heating(schedule=[{"days": "someday", "start": "08:00", "end": "09:00"}])
    with pytest.raises(ValidationError, match="not a time of day"):
        hall_heating(schedule=[{"days": "mon", "start": "25:00", "end": "09:00"}])
    with pytest.raises(ValidationError, match="exactly one output"):
        HeatingConfig(sensors=["t"])


@pytest.mark.parametrize(
    ("year", "sunday"),
    [
        (2019, date(2019, 4, 21)),
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2038, date(2038, 4, 25)),
    ],
)
def test_easter_matches_known_dates(year: int, sunday: date) -> None:
    assert easter(year) == sunday


def test_french_public_holidays_of_2026() -> None:
    assert sorted(french_holidays(2026)) == [
        date(2026, 1, 1),
        date(2026, 4, 6),
        date(2026, 5, 1),
        date(2026, 5, 8),
        date(2026, 5, 14),
        date(2026, 5, 25),
        date(2026, 7, 14),
        date(2026, 8, 15),
        date(2026, 11, 1),
        date(2026, 11, 11),
        date(2026, 12, 25),
    ]
    assert date(2026, 4, 3) in french_holidays(2026, alsace_moselle=True)  # Good Friday


# Given the hall (Tue 18:30–22:30, Thu 18:30–22:30, Fri 19:00–23:00), in January 2026 (Tue = 13th)
@pytest.mark.parametrize(
    ("when", "mode", "occupied"),
    [
        (at(2026, 1, 13, 19, 0), "confort", True),  # Tuesday evening
        (at(2026, 1, 13, 22, 30), "reduit", False),  # end is exclusive; Tue 22:30 -> Thu 18:30 = 44 h
        (at(2026, 1, 15, 23, 0), "reduit", False),  # Thu 22:30 -> Fri 19:00 = 20.5 h (under 24 h)
        (at(2026, 1, 17, 12, 0), "hors_gel", False),  # Fri 23:00 -> Tue 18:30 = 91.5 h (over 48 h)
        (at(2026, 1, 16, 22, 59), "confort", True),
    ],
)
def test_mode_follows_the_schedule_and_the_gap_length(when, mode, occupied) -> None:  # type: ignore[no-untyped-def]
    result = evaluate(hall_heating(), PARIS, HALL, (), ns(when))
    assert (result.mode, result.occupied) == (mode, occupied)


def test_unoccupied_modes_are_configurable() -> None:
    heating = hall_heating(unoccupied={"under_24h": "arret", "from_24h": "hors_gel", "over_48h": "arret"})
    assert evaluate(heating, PARIS, HALL, (), ns(at(2026, 1, 15, 23, 0))).mode == "arret"
    assert evaluate(heating, PARIS, HALL, (), ns(at(2026, 1, 14, 12, 0))).mode == "hors_gel"


def test_a_booking_wins_and_expires_by_itself() -> None:
    loto = Booking(HALL, ns(at(2026, 1, 17, 14)), ns(at(2026, 1, 17, 23)), "confort", "Loto")
    during = evaluate(hall_heating(), PARIS, HALL, (loto,), ns(at(2026, 1, 17, 15)))
    assert (during.mode, during.source, during.label, during.until_ns) == ("confort", "booking", "Loto", loto.end_ns)
    after = evaluate(hall_heating(), PARIS, HALL, (loto,), ns(at(2026, 1, 17, 23)))
    # the booking was an occupancy: the gap now runs from Sat 23:00 to Tue 18:30 (67.5 h) -> hors-gel
    assert (after.mode, after.source, after.gap_h) == ("hors_gel", "unoccupied", 67.5)
    before = evaluate(hall_heating(), PARIS, HALL, (loto,), ns(at(2026, 1, 17, 13)))
    assert before.next_occupancy is not None
    assert before.next_occupancy.label == "Loto"
    assert before.gap_h == 15.0  # Fri 23:00 -> Sat 14:00: under 24 h
    assert before.mode == "reduit"


def test_a_booking_for_another_zone_is_ignored() -> None:
    other = Booking("ecole/classes", ns(at(2026, 1, 17, 14)), ns(at(2026, 1, 17, 23)), "confort", "Kermesse")
    assert evaluate(hall_heating(), PARIS, HALL, (other,), ns(at(2026, 1, 17, 15))).source == "unoccupied"


def test_an_exception_period_replaces_the_week_and_public_holidays_close() -> None:
    heating = hall_heating(
        exceptions=[{"name": "Travaux", "start": "2026-01-12", "end": "2026-01-18"}],
        schedule=[{"days": "daily", "start": "09:00", "end": "12:00"}],
    )
    assert evaluate(heating, PARIS, HALL, (), ns(at(2026, 1, 13, 10))).occupied is False
    assert evaluate(heating, PARIS, HALL, (), ns(at(2026, 1, 19, 10))).occupied is True
    # 1 May 2026 is a Friday and a public holiday
    assert evaluate(heating, PARIS, HALL, (), ns(at(2026, 5, 1, 10))).occupied is False
    sunday_like = hall_heating(public_holidays="sunday", schedule=[{"days": "sun", "start": "09:00", "end": "12:00"}])
    assert evaluate(sunday_like, PARIS, HALL, (), ns(at(2026, 5, 1, 10))).source == "holiday"
    assert evaluate(sunday_like, PARIS, HALL, (), ns(at(2026, 5, 1, 10))).occupied is True


def test_a_slot_past_midnight_runs_into_the_next_day() -> None:
    heating = hall_heating(schedule=[{"days": "sat", "start": "20:00", "end": "02:00"}])
    assert evaluate(heating, PARIS, HALL, (), ns(at(2026, 1, 18, 1, 30))).occupied is True
    assert evaluate(heating, PARIS, HALL, (), ns(at(2026, 1, 18, 2, 0))).occupied is False


# ---- daylight saving time: 29 March 2026 (02:00 -> 03:00) and 25 October 2026 (03:00 -> 02:00) ----------

SPRING, AUTUMN = date(2026, 3, 29), date(2026, 10, 25)


@pytest.mark.parametrize(
    ("day", "start", "end", "hours"),
    [
        (SPRING, "08:00", "17:00", 9),  # a slot away from the change keeps its wall-clock length
        (AUTUMN, "08:00", "17:00", 9),
        (SPRING, "01:00", "04:00", 2),  # spans the missing hour
        (AUTUMN, "01:00", "04:00", 4),  # spans the repeated hour
        (SPRING, "00:00", "24:00", 23),
        (AUTUMN, "00:00", "24:00", 25),
    ],
)
def test_slot_lengths_on_dst_change_days(day: date, start: str, end: str, hours: int) -> None:
    heating = hall_heating(schedule=[{"days": "sun", "start": start, "end": end}])
    (slot,) = intervals(heating, PARIS, day, day)
    assert (slot.end_ns - slot.start_ns) == hours * HOUR


def test_an_8_oclock_slot_starts_at_8_local_on_both_sides_of_the_change() -> None:
    heating = hall_heating(schedule=[{"days": "daily", "start": "08:00", "end": "09:00"}])
    for day in (SPRING - timedelta(days=1), SPRING, AUTUMN - timedelta(days=1), AUTUMN):
        (slot,) = intervals(heating, PARIS, day, day)
        assert slot.start_ns == ns(at(day.year, day.month, day.day, 8))


@given(
    day=st.sampled_from([SPRING, AUTUMN]),
    start_min=st.integers(0, 23 * 4).map(lambda q: q * 15),
    length_min=st.integers(1, 8 * 4).map(lambda q: q * 15),
    probe_s=st.integers(0, 25 * 3600 - 1),
)
def test_occupancy_on_dst_days_follows_the_local_wall_clock(
    day: date, start_min: int, length_min: int, probe_s: int
) -> None:
    """Property: at any instant of a DST change day, the zone is occupied iff the local wall-clock
    time is inside the slot; a slot edge in the missing spring hour (02:xx) is read as 03:xx."""
    end_min = min(start_min + length_min, 24 * 60)
    heating = hall_heating(schedule=[{"days": "sun", "start": _hhmm(start_min), "end": _hhmm(end_min)}])
    now = ns(at(day.year, day.month, day.day)) + probe_s * 1_000_000_000
    local = from_ns(now, PARIS)
    if local.date() != day:
        return
    wall = local.hour * 60 + local.minute

    def shifted(minute: int) -> int:
        return minute + 60 if day == SPRING and 120 <= minute < 180 else minute

    inside_by_wall = shifted(start_min) <= wall < (1440 if end_min == 1440 else shifted(end_min))
    if (day == AUTUMN and 120 <= start_min < 180) or (day == AUTUMN and 120 <= end_min < 180):
        return  # an edge inside the repeated hour: the first occurrence is meant; checked by the table above
    assert evaluate(heating, PARIS, HALL, (), now).occupied == inside_by_wall


def _hhmm(minute: int) -> str:
    return "24:00" if minute == 1440 else f"{minute // 60:02d}:{minute % 60:02d}"


def test_a_schedule_edited_with_model_copy_and_lists_still_works() -> None:
    """The shell layers edits with ``model_copy(update=...)``, which may put lists in: no cache, same result."""
    from rules.config import Slot

    edited = hall_heating().model_copy(update={"schedule": [Slot(days="mon", start="08:00", end="09:00")]})
    assert evaluate(edited, PARIS, HALL, (), ns(at(2026, 1, 12, 8, 30))).occupied is True
    assert evaluate(edited, PARIS, HALL, (), ns(at(2026, 1, 13, 19, 0))).occupied is False


def test_alsace_moselle_adds_good_friday_and_26_december() -> None:
    heating = hall_heating(schedule=[{"days": "daily", "start": "09:00", "end": "12:00"}])
    for when in (at(2026, 4, 3, 10), at(2026, 12, 26, 10)):  # Good Friday, Saint Stephen's day
        assert evaluate(heating, PARIS, HALL, (), ns(when)).occupied is True  # worked days elsewhere in France
        assert evaluate(heating, PARIS, HALL, (), ns(when), holidays="alsace-moselle").occupied is False  # closed
        sunday_like = heating.model_copy(update={"public_holidays": "sunday"})
        assert evaluate(sunday_like, PARIS, HALL, (), ns(when), holidays="alsace-moselle").source == "holiday"
    # the national holidays stay holidays there (Easter Monday)
    assert evaluate(heating, PARIS, HALL, (), ns(at(2026, 4, 6, 10)), holidays="alsace-moselle").occupied is False


def test_the_site_chooses_its_calendar_in_the_configuration() -> None:
    from gateway.config import parse_config
    from gateway.errors import ConfigError
    from rules.config import site_from_config
    from rules.engine import decide
    from tests.support.village import hall, site
    from tests.unit.rules_village import state

    text = site(timezone="Europe/Paris") + hall(sensor="salle-t1", schedule='[{ days = "daily", start = "09:00", end = "12:00" }]')
    text += '[gpio.relays.salle-chauffage]\npin = 17\n'
    good_friday = at(2026, 4, 3, 10)
    for calendar, occupied in (("france", True), ("alsace-moselle", False)):
        config = parse_config(text.replace("[site]\n", f'[site]\nholidays = "{calendar}"\n'))
        rules_site = site_from_config(config)
        assert rules_site.holidays == calendar
        (zone,) = decide(rules_site, state(good_friday), good_friday).zones
        assert zone.occupied is occupied
    assert site_from_config(parse_config(text)).holidays == "france"  # the default
    with pytest.raises(ConfigError, match=r":2: site.holidays: Input should be 'france' or 'alsace-moselle'"):
        parse_config(text.replace("[site]\n", '[site]\nholidays = "alsace"\n'))
