"""Reads of the hourly archive (:class:`gateway.archive.Archive`) shaped for the charts and tables.

Thin on purpose: the archive does the aggregation (hourly mean, counter deltas summed per local
day or month); this module only chooses the series and converts times.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

_NS = 1_000_000_000


def _ns(moment: datetime) -> int:
    return int(moment.timestamp()) * _NS


def hourly_means(
    archive: Any,
    *,
    device: str,
    field: str,
    start: datetime,
    end: datetime,
    by_zone: tuple[str, str] | None = None,
) -> list[tuple[int, float]]:
    """``(hour start in epoch seconds, mean)`` of one device's field (or a zone's, with ``by_zone``)."""
    tags = {"building": by_zone[0], "zone": by_zone[1]} if by_zone else {"device": device}
    measurement = "relay" if field == "on" else "climate"
    rows = archive.series(measurement, tags, field, _ns(start), _ns(end))
    return [(int(hour_ns // _NS), float(mean)) for hour_ns, mean, _low, _high in rows]


def counter_deltas(  # noqa: PLR0917 - mirrors Archive.counter_sum's positional order
    archive: Any, device: str, field: str, start: datetime, end: datetime, period: str, tz: ZoneInfo
) -> dict[date, float]:
    """Counter increase per local day or month (keyed by the period's first day)."""
    totals = archive.counter_sum(
        "meter", {"device": device}, field, _ns(start), _ns(end), period=period, timezone=tz.key
    )
    return {datetime.fromtimestamp(start_ns / _NS, tz).date(): float(total) for start_ns, total in totals}
