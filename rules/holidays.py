"""French public holidays (jours fériés), computed: no table to update, no dependency.

Rules of this module: pure functions of the year. The eleven national holidays of the Code du
travail (L3133-1): eight fixed dates and three tied to Easter (Easter Monday, Ascension Thursday,
Whit Monday). Easter Sunday comes from the anonymous Gregorian algorithm (Meeus/Jones/Butcher).
Alsace-Moselle (Bas-Rhin, Haut-Rhin, Moselle) adds Good Friday and 26 December (Code du travail,
L3134-13): the calendar ``"alsace-moselle"``, chosen per site by ``[site] holidays``.

We compute them rather than depend on the ``holidays`` package: eleven dates and one well-known
algorithm are smaller than a dependency that updates every few weeks, and tests pin known years.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

_FIXED = ((1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25))


def easter(year: int) -> date:
    """Easter Sunday of ``year`` (Gregorian calendar)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def french_holidays(year: int, *, alsace_moselle: bool = False) -> frozenset[date]:
    """The public holidays of ``year`` in metropolitan France."""
    sunday = easter(year)
    days = {date(year, m, d) for m, d in _FIXED}
    days |= {sunday + timedelta(days=1), sunday + timedelta(days=39), sunday + timedelta(days=50)}
    if alsace_moselle:
        days |= {sunday - timedelta(days=2), date(year, 12, 26)}
    return frozenset(days)


#: The calendars a site may follow (``[site] holidays``).
Calendar = Literal["france", "alsace-moselle"]
CALENDARS: tuple[Calendar, ...] = ("france", "alsace-moselle")


def is_holiday(day: date, calendar: Calendar = "france") -> bool:
    """Whether ``day`` is a public holiday in ``calendar`` (metropolitan France, or Alsace-Moselle)."""
    return day in french_holidays(day.year, alsace_moselle=calendar == "alsace-moselle")
