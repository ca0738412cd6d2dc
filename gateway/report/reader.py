"""How reporting reads the hourly archive: the live :class:`gateway.archive.Archive`, or a read-only file.

Rules of this module:
- reporting needs two queries, both in the archive's own API: :meth:`~ArchiveReader.series` (hourly
  mean, min and max) and :meth:`~ArchiveReader.counter_sum` (hourly counter deltas summed per period);
  the daemon's web thread calls them on its :class:`~gateway.archive.Archive`;
- tools running beside the daemon (``village-gateway report``, the public page's static export, the
  demo's meter hand-over) open the file with :class:`ReadOnlyArchive` instead: a SQLite ``mode=ro``
  connection that can neither write nor move a busy file aside, answering the same two queries with
  the same SQL as the archive (``tests/unit/test_report_reader.py`` holds them equal), plus the last
  value of a counter (``series.last_value``);
- the connection is opened per call and closed at once: nothing is held between calls.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from gateway.archive import HOUR_NS, bucket_totals

Period = Literal["hour", "day", "month", "year"]


class ArchiveReader(Protocol):
    """The two archive queries reporting uses (:class:`gateway.archive.Archive` has them)."""

    def series(
        self, measurement: str, tags_filter: Mapping[str, str] | None, field: str, start_ns: int, end_ns: int
    ) -> list[tuple[int, float, float, float]]: ...

    def counter_sum(
        self,
        measurement: str,
        tags_filter: Mapping[str, str] | None,
        field: str,
        start_ns: int,
        end_ns: int,
        *,
        period: Period = "day",
        timezone: str = "Europe/Paris",
    ) -> list[tuple[int, float]]: ...


def _hour_ceil(time_ns: int) -> int:
    return -(-time_ns // HOUR_NS)


class ReadOnlyArchive:
    """The archive file opened read-only (``mode=ro``): safe beside a running daemon (WAL readers).

    Example::

        reader = ReadOnlyArchive(state_dir / "archive.sqlite")
        reader.counter_sum("meter", {"device": "mairie-general"}, "energy_import_kwh", a_ns, b_ns, period="day")
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path} does not exist (has the gateway run yet?)")
        return sqlite3.connect(f"file:{self.path.resolve()}?mode=ro", uri=True, timeout=30.0)

    @staticmethod
    def _matching(db: sqlite3.Connection, measurement: str, tags_filter: Mapping[str, str], field: str) -> list[int]:
        ids = []
        for series_id, tags in db.execute(
            "SELECT id, tags FROM series WHERE measurement = ? AND field = ?", (measurement, field)
        ):
            tag_map = json.loads(tags)
            if all(tag_map.get(k) == v for k, v in tags_filter.items()):
                ids.append(int(series_id))
        return ids

    def series(
        self, measurement: str, tags_filter: Mapping[str, str] | None, field: str, start_ns: int, end_ns: int
    ) -> list[tuple[int, float, float, float]]:
        """``(hour_start_ns, mean, min, max)`` per hour, as :meth:`gateway.archive.Archive.series`."""
        db = self._connect()
        try:
            ids = self._matching(db, measurement, dict(tags_filter or {}), field)
            if not ids:
                return []
            query = (
                "SELECT hour, sum(sum) / sum(count), min(min), max(max) FROM hourly"
                " WHERE series_id IN (SELECT value FROM json_each(?)) AND hour >= ? AND hour < ?"
                " GROUP BY hour ORDER BY hour"
            )
            return [
                (int(h) * HOUR_NS, float(mean), float(lo), float(hi))
                for h, mean, lo, hi in db.execute(query, (json.dumps(ids), _hour_ceil(start_ns), _hour_ceil(end_ns)))
            ]
        finally:
            db.close()

    def counter_sum(
        self,
        measurement: str,
        tags_filter: Mapping[str, str] | None,
        field: str,
        start_ns: int,
        end_ns: int,
        *,
        period: Period = "day",
        timezone: str = "Europe/Paris",
    ) -> list[tuple[int, float]]:
        """Counter totals per local period, as :meth:`gateway.archive.Archive.counter_sum`."""
        db = self._connect()
        try:
            ids = self._matching(db, measurement, dict(tags_filter or {}), field)
            if not ids:
                return []
            query = (
                "SELECT hour, sum(coalesce(delta, 0)) FROM hourly"
                " WHERE series_id IN (SELECT value FROM json_each(?)) AND hour >= ? AND hour < ?"
                " GROUP BY hour ORDER BY hour"
            )
            hourly = [
                (int(h) * HOUR_NS, float(total))
                for h, total in db.execute(query, (json.dumps(ids), _hour_ceil(start_ns), _hour_ceil(end_ns)))
            ]
        finally:
            db.close()
        return bucket_totals(hourly, period, ZoneInfo(timezone))

    def last_value(self, measurement: str, tags_filter: Mapping[str, str], field: str) -> float | None:
        """The last value the archive saw of a series (a counter's reading), or ``None``."""
        db = self._connect()
        try:
            ids = self._matching(db, measurement, tags_filter, field)
            if not ids:
                return None
            row = db.execute(
                "SELECT last_value FROM series WHERE id IN (SELECT value FROM json_each(?))"
                " AND last_value IS NOT NULL ORDER BY last_ns DESC LIMIT 1",
                (json.dumps(ids),),
            ).fetchone()
        finally:
            db.close()
        return None if row is None else float(row[0])
