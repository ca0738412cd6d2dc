"""The hourly archive's read queries, on any connection: the live archive's and a read-only one.

Rules of this module:
- pure SQL over the archive's tables (``series``, ``hourly``), no state: the daemon's
  :class:`gateway.archive.Archive` runs them on its own thread, tools on a ``mode=ro`` connection
  (:class:`gateway.report.reader.ReadOnlyArchive`), so both answer with the same SQL;
- several series matching a tag filter are combined (mean weighted by sample count, min of mins,
  max of maxes, deltas summed).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping

HOUR_NS = 3_600 * 1_000_000_000

_SERIES = ("SELECT hour, sum(sum) / sum(count), min(min), max(max) FROM hourly"
           " WHERE series_id IN (SELECT value FROM json_each(?)) AND hour >= ? AND hour < ?"
           " GROUP BY hour ORDER BY hour")
_DELTAS = ("SELECT hour, sum(coalesce(delta, 0)) FROM hourly"
           " WHERE series_id IN (SELECT value FROM json_each(?)) AND hour >= ? AND hour < ?"
           " GROUP BY hour ORDER BY hour")


def hour_ceil(time_ns: int) -> int:
    """The index of the first hour starting at or after ``time_ns``."""
    return -(-time_ns // HOUR_NS)


def matching(db: sqlite3.Connection, measurement: str, tags_filter: Mapping[str, str], field: str) -> list[int]:
    """Ids of the series of ``measurement``/``field`` whose tags include ``tags_filter``."""
    ids = []
    for series_id, tags in db.execute("SELECT id, tags FROM series WHERE measurement = ? AND field = ?",
                                      (measurement, field)):
        tag_map = json.loads(tags)
        if all(tag_map.get(k) == v for k, v in tags_filter.items()):
            ids.append(int(series_id))
    return ids


def hourly_series(db: sqlite3.Connection, measurement: str, tags_filter: Mapping[str, str], field: str, *,
                  start_ns: int, end_ns: int) -> list[tuple[int, float, float, float]]:
    """``(hour_start_ns, mean, min, max)`` per hour in ``[start_ns, end_ns)``, oldest first."""
    ids = matching(db, measurement, tags_filter, field)
    if not ids:
        return []
    return [(int(h) * HOUR_NS, float(mean), float(lo), float(hi)) for h, mean, lo, hi in
            db.execute(_SERIES, (json.dumps(ids), hour_ceil(start_ns), hour_ceil(end_ns)))]


def hourly_deltas(db: sqlite3.Connection, measurement: str, tags_filter: Mapping[str, str], field: str, *,
                  start_ns: int, end_ns: int) -> list[tuple[int, float]]:
    """``(hour_start_ns, counter increase)`` per hour in ``[start_ns, end_ns)``, oldest first."""
    ids = matching(db, measurement, tags_filter, field)
    if not ids:
        return []
    return [(int(h) * HOUR_NS, float(total)) for h, total in
            db.execute(_DELTAS, (json.dumps(ids), hour_ceil(start_ns), hour_ceil(end_ns)))]


def last_value(db: sqlite3.Connection, measurement: str, tags_filter: Mapping[str, str], field: str) -> float | None:
    """The last value the archive saw of the matching series (a counter's reading), or ``None``."""
    ids = matching(db, measurement, tags_filter, field)
    if not ids:
        return None
    row = db.execute("SELECT last_value FROM series WHERE id IN (SELECT value FROM json_each(?))"
                     " AND last_value IS NOT NULL ORDER BY last_ns DESC LIMIT 1", (json.dumps(ids),)).fetchone()
    return None if row is None else float(row[0])
