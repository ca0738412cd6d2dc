"""The rules' small vocabulary: identifiers, modes, days and times of day, daily windows.

Rules of this module: pure data and parsing, standard library and pydantic only. Times of day are
``"HH:MM"`` in the site's time zone (``"24:00"`` is allowed as an end); TOML local times
(``07:30:00``) are accepted too.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

Ident = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
#: A zone reference ``"building/zone"`` (the key of a zone everywhere in rules/).
ZoneRef = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}/[a-z0-9][a-z0-9_-]{0,62}$")]

Mode = Literal["confort", "reduit", "hors_gel", "arret"]
#: The four modes from warmest to coldest (décret 2023-444: confort / réduit / hors-gel / arrêt).
MODES: tuple[Mode, ...] = ("confort", "reduit", "hors_gel", "arret")

DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {
    "lun": "mon",
    "mar": "tue",
    "mer": "wed",
    "jeu": "thu",
    "ven": "fri",
    "sam": "sat",
    "dim": "sun",
}
_DAY_GROUPS = {"daily": "mon-sun", "weekdays": "mon-fri", "weekend": "sat-sun"}
_CLOCK = re.compile(r"^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$")


class Rules(BaseModel):
    """Base of every rules model: frozen, unknown keys rejected, strings stripped."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _clock_in(value: Any) -> Any:
    if isinstance(value, time):
        if value.second or value.microsecond:
            raise ValueError("times of day are whole minutes (HH:MM)")
        return f"{value.hour:02d}:{value.minute:02d}"
    return value


def _clock_check(value: str) -> str:
    if not _CLOCK.fullmatch(value):
        raise ValueError(f"{value!r} is not a time of day HH:MM (00:00 to 24:00)")
    return value


#: A time of day ``"HH:MM"`` (local time of the site).
ClockTime = Annotated[str, BeforeValidator(_clock_in), AfterValidator(_clock_check)]


def minutes_of(clock: str) -> int:
    """``"07:30"`` -> 450 minutes after midnight."""
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def parse_days(value: Any) -> tuple[int, ...]:
    """``"mon-fri"``, ``"tue,thu,sat"``, ``["sat", "sun"]``, ``"daily"``, French ``"lun-ven"`` -> (0..6)."""
    parts = value if isinstance(value, list | tuple) else str(value).split(",")
    out: set[int] = set()
    for raw in parts:
        token = _DAY_GROUPS.get(str(raw).strip().lower(), str(raw).strip().lower())
        ends = [_DAY_ALIASES.get(t.strip(), t.strip()) for t in token.split("-")]
        if len(ends) > 2 or any(e not in DAY_NAMES for e in ends):
            raise ValueError(f"unknown day {raw!r}; use mon..sun (or lun..dim), ranges like mon-fri, 'daily'")
        first, last = DAY_NAMES.index(ends[0]), DAY_NAMES.index(ends[-1])
        span = range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        out.update(span)
    if not out:
        raise ValueError("at least one day is needed")
    return tuple(sorted(out))


Days = Annotated[tuple[int, ...], BeforeValidator(parse_days)]


class Window(Rules):
    """A daily window of local time; ``end`` before ``start`` crosses midnight (23:00–05:00)."""

    start: ClockTime
    end: ClockTime

    def contains(self, minute_of_day: int) -> bool:
        """Whether a local minute of the day falls in ``[start, end)``."""
        s, e = minutes_of(self.start), minutes_of(self.end)
        if s == e:
            return False
        if s < e:
            return s <= minute_of_day < e
        return minute_of_day >= s or minute_of_day < e
