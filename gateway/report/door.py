"""What the web pages read from reporting, behind one object the admin page's backend holds.

Rules: built once per app with the archive the daemon opened (or none: every figure is then
missing, nothing fails); the station file of ``[report] degree_days_csv`` is read once at start (a bad
file is logged and ignored: the sensor's degree-days still count); computed views are kept for
:data:`gateway.report.public.TTL_S` seconds and recomputed in the background
(:class:`gateway.report.refresh.Refreshing`); safe from several web threads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from gateway.report.compare import Comparison, compare
from gateway.report.daily import DailyFigures
from gateway.report.meters import year_ago_date
from gateway.report.public import TTL_S, PublicPage, PublicView, comparable_start, periods
from gateway.report.refresh import Refreshing
from gateway.report.station_csv import StationCsvError, load

log = logging.getLogger("gateway.report")


class EmptyArchive:
    """No archive: every query answers nothing."""

    def series(self, *args: Any, **kwargs: Any) -> list[tuple[int, float, float, float]]:
        return []

    def counter_sum(self, *args: Any, **kwargs: Any) -> list[tuple[int, float]]:
        return []


def load_station(config: Any) -> dict[date, float]:
    """The station's degree-days of ``[report] degree_days_csv``, or nothing (logged) if unreadable."""
    path = config.report.degree_days_csv
    if path is None:
        return {}
    try:
        return load(path)
    except (OSError, StationCsvError) as exc:
        log.error("station degree-days not used: %s", exc)
        return {}


class Reports:
    """The public page's view and this winter's comparison for the Énergie page, cached."""

    def __init__(self, *, config: Any, archive: Any, now: Callable[[], datetime],
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.figures = DailyFigures(config=config, archive=archive if archive is not None else EmptyArchive(),
                                    now=now, station=load_station(config))
        self._now = now
        self._monotonic = monotonic
        self.public = PublicPage(self.figures, now=now, monotonic=monotonic)
        self._winter = Refreshing(self._compute_winter, ttl_s=TTL_S, name="energy-winter", monotonic=monotonic)

    def warm(self, *, public: bool) -> None:
        """Compute this winter's comparison (and the public view) in the background, before any visitor."""
        self._winter.warm()
        if public:
            self.public.warm()

    def public_view(self) -> PublicView:
        return self.public.view()

    def winter(self) -> Comparison:
        """This heating season so far against the same dates a year earlier, every building."""
        return self._winter.get()

    def _compute_winter(self) -> Comparison:
        today = self._now().astimezone(self.figures.tz).date()
        _week, (first, last) = periods(today, self.config.report.heating_season_start_month)
        first = comparable_start(self.figures, first, last)
        return compare(self.figures, first, last, (year_ago_date(first), year_ago_date(last)))
