"""Water leaks from a cumulative water meter: minimum night flow and the 24-hour zero-flow test.

Rules of this module: pure; the engine feeds each tick's counter reading and keeps a
:class:`~rules.types.LeakMemory` per meter. Water use is measured per local clock hour (litres
between the first readings of two consecutive hours; a gap in readings spreads its use evenly over
the missing hours, a counter that goes backwards discards the hour). A building's use should reach
zero at some point of the night (REFERENCE.md, "Water leaks"):

- **night test**: at the end of each night window (default 01:00–05:00) the smallest hourly use of
  the window is compared with ``zero_l``; ``nights`` consecutive nights above it raise the alarm;
- **24-hour test**: 24 recorded hours without a single zero-flow hour raise the alarm.

The alarm is latched (and the optional valve stays closed) until a person acknowledges it; the
acknowledgement also restarts the counting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from rules.config import LeakMeter, Window, minutes_of
from rules.schedule import from_ns, to_ns
from rules.types import LeakMemory, SensorValue

NS = 1_000_000_000
HOUR_NS = 3600 * NS
MAX_GAP_HOURS = 24


@dataclass(frozen=True, slots=True)
class LeakCheck:
    """The alarm state of one meter after this tick."""

    alarm: bool
    kind: str | None  # "night" or "continuous"
    min_lph: float | None  # evidence: smallest hourly use (l/h)
    nights: int
    hours: int  # hours the evidence covers
    memory: LeakMemory


def hour_start(time_ns: int, tz: ZoneInfo) -> int:
    """The start (UTC ns) of the local clock hour containing ``time_ns``."""
    local = from_ns(time_ns, tz)
    return to_ns(local.replace(minute=0, second=0, microsecond=0))


def _in_night(start_ns: int, tz: ZoneInfo, night: Window) -> tuple[bool, str]:
    """Whether an hour starting at ``start_ns`` is in the night window, and the night's date
    (the date the window starts on, for windows crossing midnight such as 23:00–05:00)."""
    local = from_ns(start_ns, tz)
    minute = local.hour * 60 + local.minute
    night_date = local.date()
    if minute < minutes_of(night.start) and minutes_of(night.end) < minutes_of(night.start):
        night_date -= timedelta(days=1)
    return night.contains(minute), night_date.isoformat()


def _finish_night(mem: LeakMemory, cfg: LeakMeter) -> LeakMemory:
    if mem.night_date is None or mem.night_min_l is None:
        return mem.model_copy(update={"night_date": None, "night_min_l": None, "night_hours": 0})
    leaking = mem.night_min_l > cfg.zero_l
    return mem.model_copy(
        update={
            "nights": mem.nights + 1 if leaking else 0,
            "last_night_min_l": mem.night_min_l,
            "night_date": None,
            "night_min_l": None,
            "night_hours": 0,
        }
    )


def _record_hour(
    mem: LeakMemory, cfg: LeakMeter, start_ns: int, litres: float, *, tz: ZoneInfo, night: Window
) -> LeakMemory:
    litres = round(litres, 3)
    hours = (*mem.hours, (start_ns, litres))[-24:]
    mem = mem.model_copy(update={"hours": hours})
    in_night, night_date = _in_night(start_ns, tz, night)
    if in_night:
        if mem.night_date is not None and mem.night_date != night_date:
            mem = _finish_night(mem, cfg)
        low = litres if mem.night_min_l is None else min(mem.night_min_l, litres)
        return mem.model_copy(update={"night_date": night_date, "night_min_l": low, "night_hours": mem.night_hours + 1})
    if mem.night_date is not None:
        return _finish_night(mem, cfg)
    return mem


def update(
    cfg: LeakMeter,
    mem: LeakMemory,
    reading: SensorValue | None,
    *,
    tz: ZoneInfo,
    night: Window,
    ack_ns: int | None,
    now_ns: int,
) -> LeakCheck:
    """Fold this tick's counter reading into the meter's memory and test for a leak."""
    if ack_ns is not None and mem.alarm_since_ns is not None and ack_ns >= mem.alarm_since_ns:
        mem = LeakMemory(hour_start_ns=mem.hour_start_ns, hour_start_m3=mem.hour_start_m3, partial=True)
    if reading is not None:
        mem = _fold(cfg, mem, reading, tz, night)
    kind: str | None = None
    min_lph: float | None = None
    hours = 0
    if mem.nights >= cfg.nights:
        kind, min_lph, hours = "night", mem.last_night_min_l, cfg.nights * _night_hours(night)
    elif cfg.check_24h and len(mem.hours) >= 24 and all(litres > cfg.zero_l for _, litres in mem.hours):
        kind, min_lph, hours = "continuous", min(litres for _, litres in mem.hours), 24
    if kind is not None and mem.alarm_since_ns is None:
        mem = mem.model_copy(update={"alarm_since_ns": now_ns})
    alarm = mem.alarm_since_ns is not None
    return LeakCheck(alarm, kind, min_lph, mem.nights, hours, mem)


def _night_hours(night: Window) -> int:
    return ((minutes_of(night.end) - minutes_of(night.start)) % 1440) // 60


def _fold(cfg: LeakMeter, mem: LeakMemory, reading: SensorValue, tz: ZoneInfo, night: Window) -> LeakMemory:
    h = hour_start(reading.time_ns, tz)
    if mem.hour_start_ns is None or mem.hour_start_m3 is None:
        return mem.model_copy(update={"hour_start_ns": h, "hour_start_m3": reading.value, "partial": True})
    if h <= mem.hour_start_ns:
        return mem
    elapsed = (h - mem.hour_start_ns) // HOUR_NS
    used_l = (reading.value - mem.hour_start_m3) * 1000.0
    if not mem.partial and used_l >= 0 and elapsed <= MAX_GAP_HOURS:
        per_hour, base = used_l / elapsed, mem.hour_start_ns
        for i in range(elapsed):
            mem = _record_hour(mem, cfg, base + i * HOUR_NS, per_hour, tz=tz, night=night)
    elif elapsed > MAX_GAP_HOURS or used_l < 0:
        mem = mem.model_copy(update={"hours": ()})
    return mem.model_copy(update={"hour_start_ns": h, "hour_start_m3": reading.value, "partial": False})
