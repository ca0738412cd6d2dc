"""Weekly schedules, dated exceptions, public holidays and bookings -> the mode of a zone at ``now``.

Rules of this module:
- pure: a function of (heating config, time zone, bookings, now);
- schedules are local wall-clock times in the site's zone; each day's slots are turned into UTC
  intervals with ``zoneinfo``, so a slot 08:00–17:00 is 9 h long on ordinary days, 8 h or 10 h
  long only if it spans the DST change (02:00–03:00 in Europe/Paris). A local time that does not
  exist (02:30 on the spring change) is read with the offset before the change (PEP 495, fold=0),
  i.e. 03:30 CEST; an ambiguous one (02:30 on the autumn change) is its first occurrence;
- a day's plan comes from, in this order: a dated exception period, a public holiday (closed,
  like a Sunday, or normal; the site's calendar: France, or Alsace-Moselle with Good Friday and
  26 December), the weekly schedule;
- a booking active at ``now`` wins over the schedule; bookings at confort count as occupancy;
- time that no slot covers is *unoccupied*: its mode depends on the whole gap's length
  (under 24 h, 24–48 h, over 48 h: Code de l'énergie R241-27).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from rules.config import HeatingConfig, Mode, Slot, minutes_of
from rules.holidays import Calendar, is_holiday
from rules.types import Booking

NS = 1_000_000_000
HOUR_NS = 3600 * NS
DAY_NS = 24 * HOUR_NS
#: how far schedules are expanded around ``now`` (enough to classify gaps over 48 h)
HORIZON_DAYS = 3

Source = Literal["schedule", "exception", "holiday", "booking", "unoccupied", "preheat", "clock"]


@dataclass(frozen=True, slots=True)
class Interval:
    """One scheduled period in UTC nanoseconds."""

    start_ns: int
    end_ns: int
    mode: Mode
    source: Source
    label: str = ""
    setpoint_c: float | None = None  # a booking's own temperature
    activity: str | None = None  # an active use (lower confort: HeatingConfig.activities)

    def contains(self, now_ns: int) -> bool:
        """Whether ``now_ns`` is inside ``[start, end)``."""
        return self.start_ns <= now_ns < self.end_ns


@dataclass(frozen=True, slots=True)
class ScheduleState:
    """What the schedule says at ``now``."""

    mode: Mode
    occupied: bool
    source: Source
    label: str
    until_ns: int | None  # when this mode ends (None: nothing scheduled within the horizon)
    next_occupancy: Interval | None  # the next occupied period starting after now
    gap_h: float | None = None  # length of the unoccupied gap (None when occupied or unbounded)
    setpoint_c: float | None = None  # a booking's own temperature, instead of the mode's
    since_ns: int | None = None  # when the current slot or booking started
    activity: str | None = None  # the current slot's or booking's active use


def to_ns(moment: datetime) -> int:
    """An aware datetime -> UTC nanoseconds (exact, no float rounding)."""
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * NS + delta.microseconds * 1000


def from_ns(ns: int, tz: ZoneInfo) -> datetime:
    """UTC nanoseconds -> aware local datetime (microsecond precision)."""
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)).astimezone(tz)


def local_ns(day: date, minute: int, tz: ZoneInfo) -> int:
    """Local wall-clock ``day`` + ``minute`` (0..1440) in ``tz`` -> UTC nanoseconds (DST-safe)."""
    extra, minute = divmod(minute, 1440)
    wall = datetime.combine(day + timedelta(days=extra), time(minute // 60, minute % 60), tzinfo=tz)
    return to_ns(wall)


def day_plan(
    heating: HeatingConfig, day: date, holidays: Calendar = "france"
) -> tuple[Sequence[Slot], int, Source, str]:
    """The slots that apply on ``day``, the weekday they are read as, their source and label
    (``holidays``: the site's calendar of public holidays)."""
    for period in heating.exceptions:
        if period.start <= day <= period.end:
            return period.schedule, day.weekday(), "exception", period.name
    if heating.public_holidays != "normal" and is_holiday(day, holidays):
        if heating.public_holidays == "closed":
            return (), day.weekday(), "holiday", "jour férié"
        return heating.schedule, 6, "holiday", "jour férié"
    return heating.schedule, day.weekday(), "schedule", ""


def intervals(
    heating: HeatingConfig, tz: ZoneInfo, first: date, last: date, holidays: Calendar = "france"
) -> tuple[Interval, ...]:
    """Every scheduled interval starting on a local day in ``[first, last]``, sorted by start.

    Memoised when the configuration is hashable (a pure function of frozen arguments: the rules tick
    every 30 s and ask for the same days again and again); a configuration built with
    ``model_copy(update=...)`` holding lists is computed without the cache."""
    try:
        return _cached_intervals(heating, tz, first, last, holidays)
    except TypeError:  # unhashable (lists put in by model_copy): same result, no cache
        return _intervals(heating, tz, first, last, holidays)


def _intervals(
    heating: HeatingConfig, tz: ZoneInfo, first: date, last: date, holidays: Calendar = "france"
) -> tuple[Interval, ...]:
    out: list[Interval] = []
    day = first
    while day <= last:
        slots, weekday, source, label = day_plan(heating, day, holidays)
        for slot in slots:
            if weekday not in slot.days:
                continue
            start_min, end_min = minutes_of(slot.start), minutes_of(slot.end)
            if end_min <= start_min:
                end_min += 1440  # runs past midnight
            start_ns, end_ns = local_ns(day, start_min, tz), local_ns(day, end_min, tz)
            if end_ns > start_ns:
                out.append(Interval(start_ns, end_ns, slot.mode, source, slot.label or label, None, slot.activity))
        day += timedelta(days=1)
    out.sort(key=lambda i: (i.start_ns, i.end_ns))
    return tuple(out)


_cached_intervals = lru_cache(maxsize=4096)(_intervals)


def booking_intervals(bookings: Iterable[Booking], zone: str) -> list[Interval]:
    """The bookings of one zone as intervals."""
    return sorted(
        (
            Interval(b.start_ns, b.end_ns, b.mode, "booking", b.label, b.setpoint_c, b.activity)
            for b in bookings
            if b.zone == zone
        ),
        key=lambda i: (i.start_ns, i.end_ns),
    )


def _gap_mode(heating: HeatingConfig, gap_h: float | None) -> Mode:
    if gap_h is None or gap_h > 48:
        return heating.unoccupied.over_48h
    if gap_h >= 24:
        return heating.unoccupied.from_24h
    return heating.unoccupied.under_24h


def evaluate(
    heating: HeatingConfig,
    tz: ZoneInfo,
    zone: str,
    bookings: Sequence[Booking],
    now_ns: int,
    *,
    holidays: Calendar = "france",
) -> ScheduleState:
    """The zone's scheduled mode at ``now_ns``."""
    today = from_ns(now_ns, tz).date()
    first, last = today - timedelta(days=HORIZON_DAYS), today + timedelta(days=HORIZON_DAYS)
    spans = intervals(heating, tz, first, last, holidays)
    booked = booking_intervals(bookings, zone)
    occupied = sorted((i for i in [*spans, *booked] if i.mode == "confort"), key=lambda i: (i.start_ns, i.end_ns))
    upcoming = next((i for i in occupied if i.start_ns > now_ns), None)
    current_booking = next((b for b in reversed(booked) if b.contains(now_ns)), None)
    if current_booking is not None:
        return ScheduleState(
            current_booking.mode,
            current_booking.mode == "confort",
            "booking",
            current_booking.label,
            current_booking.end_ns,
            upcoming,
            setpoint_c=current_booking.setpoint_c,
            since_ns=current_booking.start_ns,
            activity=current_booking.activity,
        )
    current = [i for i in spans if i.contains(now_ns)]
    if current:
        # overlapping slots: the warmest mode wins (confort before réduit before hors-gel before arrêt)
        chosen = min(current, key=lambda i: (_RANK[i.mode], -i.end_ns))
        until = _end_of_run(chosen, [*spans, *booked])
        return ScheduleState(
            chosen.mode,
            chosen.mode == "confort",
            chosen.source,
            chosen.label,
            until,
            upcoming,
            since_ns=chosen.start_ns,
            activity=chosen.activity,
        )
    before = [i.end_ns for i in occupied if i.end_ns <= now_ns]
    previous_end = max(before) if before else None
    gap_h = (upcoming.start_ns - previous_end) / HOUR_NS if upcoming is not None and previous_end is not None else None
    next_start = min((i.start_ns for i in [*spans, *booked] if i.start_ns > now_ns), default=None)
    return ScheduleState(_gap_mode(heating, gap_h), False, "unoccupied", "", next_start, upcoming, gap_h)


_RANK: dict[Mode, int] = {"confort": 0, "reduit": 1, "hors_gel": 2, "arret": 3}


def _end_of_run(chosen: Interval, spans: Sequence[Interval]) -> int:
    """The end of ``chosen``, extended over back-to-back intervals of the same mode."""
    end = chosen.end_ns
    for span in sorted(spans, key=lambda i: i.start_ns):
        if span.mode == chosen.mode and span.start_ns <= end < span.end_ns:
            end = span.end_ns
    return end


def last_occupied_end(
    heating: HeatingConfig,
    tz: ZoneInfo,
    zone: str,
    bookings: Sequence[Booking],
    now_ns: int,
    *,
    holidays: Calendar = "france",
) -> int | None:
    """When the zone's most recent occupancy (confort slot or booking) ended, if before ``now``."""
    today = from_ns(now_ns, tz).date()
    spans = intervals(heating, tz, today - timedelta(days=2), today, holidays)
    ends = [i.end_ns for i in [*spans, *booking_intervals(bookings, zone)] if i.mode == "confort"]
    past = [e for e in ends if e <= now_ns]
    return max(past) if past else None
