"""Lighting circuits: astronomical clock, night cut, presence hold, occupancy, manual overrides.

Rules of this module: pure; sunrise and sunset come from ``astral`` computed from the site's
latitude/longitude and the local date of ``now`` (no I/O). Order of the rules for one circuit:

1. an active manual override wins (on or off, until its end);
2. ``dusk_to_dawn`` circuits are off between sunrise − offset and sunset + offset;
3. a presence input active now or within ``presence_hold_min`` keeps the circuit on (inside the
   night cut only if ``presence_in_night_cut``);
4. circuits tied to ``occupancy`` zones are off unless a zone is occupied or its occupancy ended
   less than ``after_occupancy_min`` ago (arrêté of 27 December 2018: one hour; car parks two);
5. in the night cut window the circuit is off;
6. otherwise on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from astral import Observer
from astral.sun import sunrise, sunset

from rules.config import CircuitConfig, Window, minutes_of
from rules.types import InputState, LightOverride, ParamValue

NS = 1_000_000_000
MINUTE_NS = 60 * NS


@dataclass(frozen=True, slots=True)
class Sun:
    """Sunrise and sunset of one local day (UTC ns); ``None`` where the sun does not rise/set."""

    rise_ns: int | None
    set_ns: int | None


def _ns(moment: datetime) -> int:
    return round(moment.timestamp()) * NS


@lru_cache(maxsize=512)
def sun_of(latitude: float, longitude: float, day: date, tz_name: str) -> Sun:
    """Sunrise and sunset at the site on local ``day`` (cached: a pure function of its arguments)."""
    observer = Observer(latitude=latitude, longitude=longitude)
    tz = ZoneInfo(tz_name)
    try:
        rise: int | None = _ns(sunrise(observer, date=day, tzinfo=tz))
    except ValueError:
        rise = None
    try:
        dusk: int | None = _ns(sunset(observer, date=day, tzinfo=tz))
    except ValueError:
        dusk = None
    return Sun(rise, dusk)


def is_dark(
    latitude: float,
    longitude: float,
    tz_name: str,
    *,
    now_ns: int,
    today: date,
    sunset_offset_min: float,
    sunrise_offset_min: float,
) -> tuple[bool, Sun]:
    """Whether it is night at ``now`` (before sunrise − offset or after sunset + offset)."""
    sun = sun_of(latitude, longitude, today, tz_name)
    if sun.rise_ns is None or sun.set_ns is None:
        return False, sun  # polar day or night: not expected in France; stay off
    morning = sun.rise_ns - int(sunrise_offset_min * MINUTE_NS)
    evening = sun.set_ns + int(sunset_offset_min * MINUTE_NS)
    return (now_ns < morning or now_ns >= evening), sun


@dataclass(frozen=True, slots=True)
class CircuitOutcome:
    """The circuit's level and why."""

    on: bool
    code: str
    params: tuple[tuple[str, ParamValue], ...] = ()


def presence_until(cfg: CircuitConfig, inputs: Mapping[str, InputState], now_ns: int) -> tuple[str, int] | None:
    """The presence input keeping the circuit on and until when (``None``: nobody)."""
    hold = int(cfg.presence_hold_min * MINUTE_NS)
    best: tuple[str, int] | None = None
    for name in cfg.presence:
        state = inputs.get(name)
        if state is None:
            continue
        until = now_ns + hold if state.active else state.since_ns + hold
        if (state.active or now_ns < until) and (best is None or until > best[1]):
            best = (name, until)
    return best


def circuit_decision(  # noqa: PLR0911 (a rule table: one return per rule)
    cfg: CircuitConfig,
    *,
    circuit_id: str,
    cut: Window | None,
    dark: bool,
    minute_of_day: int,
    inputs: Mapping[str, InputState],
    overrides: Sequence[LightOverride],
    occupancy: tuple[bool, int | None] | None,
    now_ns: int,
) -> CircuitOutcome:
    """The desired level of one circuit. ``occupancy`` is (occupied now, last end ns) or ``None``."""
    active = [o for o in overrides if o.circuit == circuit_id and o.active(now_ns)]
    if active:
        override = max(active, key=lambda o: o.start_ns)
        code = "light_override_on" if override.on else "light_override_off"
        return CircuitOutcome(override.on, code, (("label", override.label), ("until_ns", override.end_ns)))
    if cfg.dusk_to_dawn and not dark:
        return CircuitOutcome(False, "light_off_daylight")
    in_cut = cut is not None and cut.contains(minute_of_day)
    presence = presence_until(cfg, inputs, now_ns)
    if presence is not None and (not in_cut or cfg.presence_in_night_cut):
        return CircuitOutcome(True, "light_on_presence", (("input", presence[0]), ("until_ns", presence[1])))
    if occupancy is not None:
        occupied, last_end = occupancy
        after = int(cfg.after_occupancy_min * MINUTE_NS)
        if not occupied and (last_end is None or now_ns >= last_end + after):
            minutes = round(cfg.after_occupancy_min)
            return CircuitOutcome(False, "light_off_unoccupied", (("minutes", minutes),))
    if cut is not None and in_cut:
        return CircuitOutcome(False, "light_off_night_cut", (("start", cut.start), ("end", cut.end)))
    if occupancy is not None:
        return CircuitOutcome(True, "light_on_occupancy")
    return CircuitOutcome(True, "light_on_dark" if cfg.dusk_to_dawn else "light_on_schedule")


def cut_minutes(cut: Window) -> tuple[int, int]:
    """The night cut as minutes of the day (start, end)."""
    return minutes_of(cut.start), minutes_of(cut.end)


def dusk_to_dawn_hours(latitude: float, longitude: float, tz_name: str, first: date, days: int) -> float:
    """Hours of darkness (sunset to next sunrise) over ``days`` local days from ``first``."""
    total = 0.0
    for i in range(days):
        today = sun_of(latitude, longitude, first + timedelta(days=i), tz_name)
        tomorrow = sun_of(latitude, longitude, first + timedelta(days=i + 1), tz_name)
        if today.set_ns is not None and tomorrow.rise_ns is not None:
            total += (tomorrow.rise_ns - today.set_ns) / (3600 * NS)
    return total
