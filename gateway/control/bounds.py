"""How far in time a change to control may reach, and how many a zone may hold: one bound for every door.

Rules of this module:
- these are the only date bounds of control: :class:`gateway.control.facade.Control` applies them to every
  change, whichever door it came through (the admin page's forms, MQTT commands, tools); a door
  may refuse earlier (a form's own checks) but never accepts more;
- pure functions of their arguments (``now`` is passed in); each problem is added to ``errors``
  under the field it concerns, in plain English words the admin page translates;
- the values (documented in docs/control.md, "Bounds"):

  ================================  ===========================================================
  override or booking (zone,        starts at most 1 day in the past; ends after its start and
  lighting circuit)                 in the future, at most 366 days from now; lasts at most 180
                                    days
  exception (dated days)            first day at most 1 day before today (site time); last day
                                    at most 731 days (two years) after today; at most 366 days
  overrides per zone or circuit     at most 20 not yet ended (cancelled ones do not count)
  exceptions per zone               at most 100 not yet ended
  label                             at most 120 characters, one line
  ================================  ===========================================================

  A booking of the village hall is taken up to a year ahead; school and public holidays are
  published about two years ahead; nothing is gained by dating a change in the past (a start a
  few hours ago is the same as now, the day of slack covers a form filled around midnight). The
  bounds also keep every date far from the limits of the nanosecond timestamps the settings
  store and the journal use (year 2262).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

#: An override or booking may start this long before now (a form filled just before midnight).
MAX_PAST = timedelta(days=1)
#: An override or booking ends at most this far ahead (the village hall is booked up to a year ahead).
MAX_AHEAD = timedelta(days=366)
#: The longest override or booking accepted (a season).
MAX_OVERRIDE = timedelta(days=180)
#: An exception's first day is at most this many days before today.
EXCEPTION_MAX_PAST_DAYS = 1
#: An exception's last day is at most this many days after today (holiday calendars: two years).
EXCEPTION_MAX_AHEAD_DAYS = 731
#: The longest exception (days between its first and last day).
EXCEPTION_MAX_DAYS = 366
#: Overrides not yet ended that one zone or one lighting circuit may hold.
MAX_PENDING_OVERRIDES = 20
#: Exceptions not yet ended that one zone may hold.
MAX_PENDING_EXCEPTIONS = 100
#: The longest label.
MAX_LABEL = 120


def check_label(label: object, errors: dict[str, str]) -> str:
    """The label stripped; an error if it is not one line of at most :data:`MAX_LABEL` characters."""
    if not isinstance(label, str):
        errors["label"] = "the label must be text"
        return ""
    label = label.strip()
    if len(label) > MAX_LABEL:
        errors["label"] = f"the label is longer than {MAX_LABEL} characters"
    elif any(ord(c) < 32 or ord(c) == 0x7F for c in label):
        errors["label"] = "the label contains control characters"
    return label


def check_span(
    start: datetime | None, end: datetime, now: datetime, errors: dict[str, str]
) -> tuple[datetime, datetime]:
    """An override's ``(start, end)`` (start defaults to ``now``) within the bounds above."""
    begin = now if start is None else start
    if not isinstance(begin, datetime) or begin.tzinfo is None:
        errors["start"] = "the start must be a date and time with its time zone"
        return now, now
    if not isinstance(end, datetime) or end.tzinfo is None:
        errors["end"] = "the end must be a date and time with its time zone"
        return begin, begin
    if begin < now - MAX_PAST:
        errors["start"] = "the start is more than a day in the past"
    if end <= begin:
        errors["end"] = "the end must be after the start"
    elif end <= now:
        errors["end"] = "the end is already past"
    elif end - now > MAX_AHEAD:
        errors["end"] = f"the end is more than {MAX_AHEAD.days} days ahead"
    elif end - begin > MAX_OVERRIDE:
        errors["end"] = f"an override may last at most {MAX_OVERRIDE.days} days"
    return begin, end


def check_days(first: date, last: date, today: date, errors: dict[str, str]) -> None:
    """An exception's first and last day (inclusive) within the bounds above."""
    if any(not isinstance(d, date) or isinstance(d, datetime) for d in (first, last)):
        errors["start"] = "start and end must be dates"
        return
    if (today - first).days > EXCEPTION_MAX_PAST_DAYS:
        errors["start"] = "the first day is more than a day in the past"
    if last < first:
        errors["end"] = "the end must not be before the start"
    elif (last - today).days > EXCEPTION_MAX_AHEAD_DAYS:
        errors["end"] = f"the last day is more than {EXCEPTION_MAX_AHEAD_DAYS} days ahead"
    elif (last - first).days > EXCEPTION_MAX_DAYS:
        errors["end"] = "an exception may last at most a year"


def check_room(pending: int, limit: int, what: str) -> dict[str, str]:
    """An error when a subject already holds ``limit`` pending items (``what``: "overrides" ...)."""
    if pending >= limit:
        return {"end": f"at most {limit} {what} not yet ended"}
    return {}
