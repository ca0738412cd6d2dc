"""Editing a weekly schedule: pure transforms of a week's periods, shared by every door.

Rules of this module: pure functions of a week (a tuple of
:class:`~gateway.control.values.SchedulePeriod`) returning the edited week; no validation (the
façade validates the result, in the same transaction as it reads the week and stores it, so the
whole change applies or none of it), no I/O. The admin page and MQTT reach them through
:meth:`gateway.control.facade.Control.save_period`, ``remove_period`` and ``copy_day``.

Example::

    week = (SchedulePeriod(0, time(8), time(12)),)
    with_day_copied(week, 0, [1, 2])   # Monday's morning on Tuesday and Wednesday too
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from gateway.control.values import SchedulePeriod

Week = tuple[SchedulePeriod, ...]


def with_period(week: Week, index: int | None, period: SchedulePeriod) -> Week:
    """``period`` added (``index`` None) or in place of period ``index`` (an edit or a move).

    Raises ``LookupError`` for an index the week does not have."""
    if index is None:
        return (*week, period)
    if not 0 <= index < len(week):
        raise LookupError(index)
    return (*week[:index], period, *week[index + 1 :])


def without_period(week: Week, index: int) -> Week:
    """Period ``index`` removed (``LookupError`` for an index the week does not have)."""
    if not 0 <= index < len(week):
        raise LookupError(index)
    return (*week[:index], *week[index + 1 :])


def with_day_copied(week: Week, source: int, targets: Sequence[int]) -> Week:
    """The periods of each target day replaced by a copy of the source day's."""
    kept = [p for p in week if p.day not in targets]
    copies = [replace(p, day=t) for t in targets for p in week if p.day == source]
    return (*kept, *copies)
