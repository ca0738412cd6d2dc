"""In-memory hourly accumulators of the archive: fold readings in, merge back a failed flush.

Rules of this module:
- pure data and arithmetic (no I/O, no clock, no lock: :class:`gateway.archive.Archive` holds
  the lock and owns the file);
- a series' accumulator holds, per UTC hour, count/sum/min/max/first/last and for counters
  the delta (sum of increases; a decrease is a reset: Prometheus' ``increase()``);
- the first sample of a counter since the last flush (``head``) has no increase yet: the flush
  adds the increase from the last value stored in the file;
- :func:`merge` puts the accumulators of a flush that failed back in front of those folded
  since, as if no flush had been tried: nothing counted twice, no increase lost.
"""

from __future__ import annotations

from dataclasses import dataclass

COUNTER_SUFFIXES = ("_kwh", "_m3")

SeriesKey = tuple[str, str, str]  # measurement, tags as JSON, field


def is_counter(field: str) -> bool:
    """Energy and water counters: their hourly delta is archived too."""
    return field.endswith(COUNTER_SUFFIXES)


def increase(previous: float, current: float) -> float:
    """The counter increase from ``previous`` to ``current`` (a decrease is a reset)."""
    return current - previous if current >= previous else current


def _add(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else a + b


@dataclass
class HourAcc:
    """One hour of one series, not yet flushed."""

    count: int
    total: float
    low: float
    high: float
    first: float
    last: float
    delta: float | None


@dataclass
class SeriesAcc:
    """One series' hours not yet flushed, and where its samples stand."""

    counter: bool
    hours: dict[int, HourAcc]
    head: tuple[int, float] | None = None  # (hour, value) of the first sample since the last flush
    tail: tuple[int, float] | None = None  # (time_ns, value) of the latest sample

    def fold(self, hour: int, time_ns: int, value: float) -> None:
        """Add one sample (in arrival order)."""
        step: float | None = None
        if self.counter:
            step = 0.0 if self.tail is None else increase(self.tail[1], value)
            if self.head is None:
                self.head = (hour, value)
        self.tail = (time_ns, value)
        slot = self.hours.get(hour)
        if slot is None:
            self.hours[hour] = HourAcc(1, value, value, value, value, value, step)
            return
        slot.count += 1
        slot.total += value
        slot.low = min(slot.low, value)
        slot.high = max(slot.high, value)
        slot.last = value
        if step is not None:
            slot.delta = (slot.delta or 0.0) + step

    def readings(self) -> int:
        """Samples held."""
        return sum(h.count for h in self.hours.values())


def merge(older: dict[SeriesKey, SeriesAcc], newer: dict[SeriesKey, SeriesAcc]) -> dict[SeriesKey, SeriesAcc]:
    """``older`` (a flush that failed) followed by ``newer`` (folded since), as one accumulation."""
    merged = dict(older)
    for key, late in newer.items():
        early = merged.get(key)
        merged[key] = late if early is None else _merge_series(early, late)
    return merged


def _merge_series(early: SeriesAcc, late: SeriesAcc) -> SeriesAcc:
    hours = dict(early.hours)
    for hour, b in late.hours.items():
        a = hours.get(hour)
        hours[hour] = b if a is None else HourAcc(
            a.count + b.count, a.total + b.total, min(a.low, b.low), max(a.high, b.high), a.first, b.last,
            _add(a.delta, b.delta),
        )
    if early.counter and early.tail is not None and late.head is not None:
        hour, value = late.head  # the late part started without a previous sample: its first increase
        slot = hours[hour]
        hours[hour] = HourAcc(slot.count, slot.total, slot.low, slot.high, slot.first, slot.last,
                              (slot.delta or 0.0) + increase(early.tail[1], value))
    return SeriesAcc(early.counter, hours, early.head or late.head, late.tail or early.tail)
