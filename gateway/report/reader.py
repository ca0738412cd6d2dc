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

import contextlib
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from gateway import archive_queries
from gateway.archive import bucket_totals

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

    def series(
        self, measurement: str, tags_filter: Mapping[str, str] | None, field: str, start_ns: int, end_ns: int
    ) -> list[tuple[int, float, float, float]]:
        """``(hour_start_ns, mean, min, max)`` per hour, as :meth:`gateway.archive.Archive.series`."""
        with contextlib.closing(self._connect()) as db:
            return archive_queries.hourly_series(db, measurement, dict(tags_filter or {}), field,
                                                 start_ns=start_ns, end_ns=end_ns)

    def counter_sum(self, measurement: str, tags_filter: Mapping[str, str] | None, field: str, start_ns: int,
                    end_ns: int, *, period: Period = "day", timezone: str = "Europe/Paris") -> list[tuple[int, float]]:
        """Counter totals per local period, as :meth:`gateway.archive.Archive.counter_sum`."""
        with contextlib.closing(self._connect()) as db:
            hourly = archive_queries.hourly_deltas(db, measurement, dict(tags_filter or {}), field,
                                                   start_ns=start_ns, end_ns=end_ns)
        return bucket_totals(hourly, period, ZoneInfo(timezone))

    def last_value(self, measurement: str, tags_filter: Mapping[str, str], field: str) -> float | None:
        """The last value the archive saw of a series (a counter's reading), or ``None``."""
        with contextlib.closing(self._connect()) as db:
            return archive_queries.last_value(db, measurement, tags_filter, field)
