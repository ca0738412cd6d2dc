"""When each device of a bus is polled, in which order, and how long a failing one may hold the line.

Rules of this module:
- pure: times are event-loop seconds passed in; no I/O, no clock;
- **slots**: a device is polled on a grid of its interval (``first + n * interval``); after a poll
  the next slot is ``2**k`` intervals on (backoff, :mod:`drivers.modbus_health`), capped at
  ``max_backoff_s``, and always in the future: slots that went by while the bus was busy are
  skipped, never made up;
- **no bursts**: a slot that comes less than half an interval after the device's last reading
  started is skipped (:func:`too_soon`): a late round skips, it never polls twice back to back;
- **order**: among the devices due, healthy ones first (earliest slot, then configuration
  order), suspect ones at the end of the round; a suspect device due for a whole interval
  already goes in turn with the healthy ones (it is never starved);
- **budget**: a suspect device's poll must end before the next healthy device's slot (less a
  guard for reconnecting): the time left is shared among the suspect devices due, each getting
  at least its fair share of the interval (``interval / devices on the bus``) and at most the
  bus ``timeout_s``. A healthy device has the whole ``timeout_s`` per request.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: Readings closer together than this fraction of the interval are never taken.
MIN_SPACING = 0.5
#: Time kept free before a healthy device's slot (reconnecting after a failed poll), seconds.
GUARD_S = 0.05


@dataclass(frozen=True, slots=True)
class Slot:
    """What the scheduler needs to know of one device (a view, rebuilt each time)."""

    index: int  # configuration order
    due: float
    interval: float
    suspect: bool


def next_slot(*, due: float, interval: float, wait_intervals: int, max_backoff_s: float, now: float) -> float:
    """The slot after ``due``: ``wait_intervals`` intervals on (capped), on the grid, after ``now``."""
    steps = max(1, min(wait_intervals, math.floor(max_backoff_s / interval)))
    slot = due + steps * interval
    if slot <= now:  # the bus was busy past this slot: skip to the next one on the grid
        slot += math.floor((now - slot) / interval + 1) * interval
    return slot


def too_soon(*, last_reading_at: float | None, interval: float, now: float) -> bool:
    """Whether polling now would put two readings closer than :data:`MIN_SPACING` intervals."""
    return last_reading_at is not None and now - last_reading_at < MIN_SPACING * interval


def pick(slots: Sequence[Slot], now: float) -> Slot | None:
    """The device to poll now, or ``None`` if none is due."""
    due = [s for s in slots if s.due <= now]
    if not due:
        return None
    return min(due, key=lambda s: (s.suspect and now - s.due < s.interval, s.due, s.index))


def budget_deadline(slot: Slot, slots: Sequence[Slot], now: float, *, timeout_s: float, guard_s: float) -> float | None:
    """When a suspect device's poll must end (event-loop time); ``None`` for a healthy device."""
    if not slot.suspect:
        return None
    share = slot.interval / max(len(slots), 1)
    if any(not s.suspect and s.due <= now for s in slots):  # healthy devices wait: only the share
        return now + min(share, timeout_s)
    next_healthy = min((s.due for s in slots if not s.suspect), default=math.inf)
    waiting = sum(1 for s in slots if s.suspect and s.due <= now) or 1
    budget = max((next_healthy - now - guard_s) / waiting, share)
    return now + min(budget, timeout_s)
