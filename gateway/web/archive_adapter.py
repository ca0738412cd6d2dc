"""Reads of the hourly archive (:class:`gateway.archive.Archive`) shaped for the zone charts.

Thin on purpose: the archive does the aggregation (hourly mean); this module only chooses the
series and converts times. Energy totals live in :mod:`gateway.report.meters`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
