"""The alerts the overview shows: the latest warning or alarm per (kind, subject) of the last 24 h.

Rules of this module: pure; it reads recent events and a time, and returns
:class:`gateway.control.values.Alert` values. Shared by the control loop's status
(:mod:`gateway.control.status`) and the watch of a village without rules (:mod:`gateway.control.watch`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from gateway.control.values import Alert
from gateway.model import Event

#: How far back an unresolved warning or alarm stays on the overview.
HORIZON_NS = 24 * 3600 * 1_000_000_000


def recent_alerts(events: Iterable[Event], now_ns: int) -> tuple[Alert, ...]:
    """The latest warning/alarm per (kind, subject) since ``now_ns`` minus 24 h, not resolved since
    (a ``<kind>_end`` event of the same subject, later), newest first."""
    latest: dict[tuple[str, str], Event] = {}
    horizon = now_ns - HORIZON_NS
    for event in list(events):
        if event.time_ns >= horizon:
            latest[(event.kind, event.subject)] = event
    out = []
    for (kind, subject), event in latest.items():
        if event.severity == "info":
            continue
        ended = latest.get((f"{kind}_end", subject))
        if ended is not None and ended.time_ns >= event.time_ns:  # resolved since
            continue
        when = datetime.fromtimestamp(event.time_ns / 1e9, UTC)
        out.append(Alert(when, kind, subject, event.message, event.severity))
    return tuple(sorted(out, key=lambda a: a.time, reverse=True))
