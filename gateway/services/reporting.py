"""Uploads for the intercommunality: a ``gateway_health`` point every minute, the daily summaries.

Rules of this module:
- both go through ``core.publish`` like any reading: the journal keeps them and every sink delivers
  them (:mod:`gateway.report.summary` says what they hold); nothing here talks to a server;
- the health point is built on the event loop from in-memory snapshots (state, journal statistics,
  the control façade's alerts, the clock guard): no file is read;
- daily summaries are computed from the hourly archive in a worker thread (archive queries block)
  and published on the loop: each finished local day once its hours have settled (the next day,
  :data:`SETTLE_AFTER` after 06:00 UTC, when its degree-days are complete too); the last day
  published is kept in ``<state_dir>/report-summary.json``, so a restart neither skips nor repeats
  days (a repeat would only overwrite the same points); the first run publishes up to
  :data:`BACKFILL_DAYS` days the archive already holds, at most :data:`BATCH_DAYS` a pass;
- ``[report] daily_summary = false`` disables both; a failing pass is logged once and retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from gateway import __version__
from gateway.archive import Archive
from gateway.clock_guard import ClockGuard
from gateway.config import GatewayConfig
from gateway.control.facade import Control
from gateway.core import Core
from gateway.model import Reading
from gateway.report.daily import DailyFigures
from gateway.report.door import load_station
from gateway.report.summary import daily_readings, health_reading, newest_reading_age_s
from gateway.service import Service, StopPhase

log = logging.getLogger("gateway.services.reporting")

#: A day is summarised this long after 06:00 UTC the next day (its last degree-day window ends then).
SETTLE_AFTER = timedelta(hours=2)
#: How far back the first run summarises what the archive holds (a year and the winter before it).
BACKFILL_DAYS = 400
#: Days computed per pass (the backfill goes in steps, never a long block of the worker thread).
BATCH_DAYS = 60
#: How often the daily summary looks for a newly finished day.
CHECK_EVERY_S = 600.0


class HealthService:
    """Publishes a ``gateway_health`` point every ``interval_s``."""

    name = "health"
    stop_phase = StopPhase.PRODUCER

    def __init__(
        self, *, core: Core, interval_s: float, control: Control | None = None, guard: ClockGuard | None = None
    ) -> None:
        self.core = core
        self.control = control
        self.guard = guard
        self.interval_s = interval_s
        self._started = time.monotonic()

    def prepare(self) -> None:
        """Nothing before the tasks start."""

    def point(self) -> Reading:
        """The health point now (from snapshots only)."""
        now_ns = self.core.clock.time_ns()
        snapshot = self.core.state.snapshot()
        backlog = 0
        stats = getattr(self.core.journal, "stats", None)
        if callable(stats):
            with contextlib.suppress(Exception):  # a storage error must not stop the heartbeat
                backlog = max((s.backlog for s in stats().sinks.values()), default=0)
        alarms = None
        control = self.control
        if control is not None:
            with contextlib.suppress(Exception):
                alarms = sum(1 for a in control.overview().alerts if a.severity == "alarm")
        guard = self.guard
        return health_reading(
            site=self.core.config.site.id,
            time_ns=now_ns,
            version=__version__,
            uptime_s=time.monotonic() - self._started,
            sink_backlog=backlog,
            alarms=alarms,
            devices_unavailable=len(snapshot.unavailable),
            newest_reading_age_s=newest_reading_age_s(snapshot, now_ns),
            clock_trusted=guard.status.trusted if guard is not None else None,
        )

    async def run(self) -> None:
        while True:
            try:
                self.core.publish(self.point())
            except ValueError as exc:  # a clock before 2001: no point can be dated
                log.debug("health point not published: %s", exc)
            await asyncio.sleep(self.interval_s)


class DailySummaryService:
    """Publishes each finished day's ``energy_daily`` points, computed from the hourly archive."""

    name = "daily-summary"
    stop_phase = StopPhase.PRODUCER

    def __init__(self, *, core: Core, archive: Archive, state_file: Path) -> None:
        self.core = core
        self.state_file = state_file
        self.figures = DailyFigures(config=core.config, archive=archive, now=core.clock.now,
                                    station=load_station(core.config))
        self._failing = False

    def prepare(self) -> None:
        """Nothing before the tasks start."""

    def last_published(self) -> date | None:
        try:
            return date.fromisoformat(json.loads(self.state_file.read_text(encoding="utf-8"))["last_day"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _remember(self, day: date) -> None:
        tmp = self.state_file.with_name(self.state_file.name + ".tmp")
        tmp.write_text(json.dumps({"last_day": day.isoformat()}), encoding="utf-8")
        os.replace(tmp, self.state_file)

    def due(self, now: datetime) -> tuple[date, date] | None:
        """The days to summarise now (at most :data:`BATCH_DAYS`), or ``None``."""
        tz = self.figures.tz
        utc = now.astimezone(UTC)
        settled = (utc - SETTLE_AFTER - timedelta(hours=6)).date() - timedelta(days=1)
        settled = min(settled, now.astimezone(tz).date() - timedelta(days=1))
        last = self.last_published()
        first = last + timedelta(days=1) if last is not None else settled - timedelta(days=BACKFILL_DAYS - 1)
        if first > settled:
            return None
        return first, min(settled, first + timedelta(days=BATCH_DAYS - 1))

    def step(self) -> tuple[list[Reading], date] | None:
        """One pass's points and the last day they cover (blocking: run in a thread)."""
        span = self.due(self.core.clock.now())
        if span is None:
            return None
        return daily_readings(self.figures, *span), span[1]

    async def run(self) -> None:
        while True:
            try:
                result = await asyncio.to_thread(self.step)
            except Exception as exc:  # archive trouble: say it once, retry at the next check
                if not self._failing:
                    log.error("daily summary failed (%s); retrying every %.0f s", exc, CHECK_EVERY_S)
                self._failing = True
                result = None
            else:
                self._failing = False
            if result is not None:
                readings, last_day = result
                for reading in readings:
                    self.core.publish(reading)
                self._remember(last_day)
                log.info("daily summary: %d points up to %s", len(readings), last_day)
                await asyncio.sleep(0)  # more days may be due (backfill): go on at once
                continue
            await asyncio.sleep(CHECK_EVERY_S)


def build(
    config: GatewayConfig,
    core: Core,
    *,
    control: Control | None,
    guard: ClockGuard | None,
    archive: Archive | None,
) -> list[Service]:
    """The health heartbeat and, with an archive, the daily summary (``[report] daily_summary``)."""
    if not config.report.daily_summary:
        return []
    services: list[Service] = [
        HealthService(core=core, control=control, guard=guard, interval_s=config.report.health_interval_s)
    ]
    if archive is not None:
        state_file = Path(config.service.state_dir) / "report-summary.json"
        services.append(DailySummaryService(core=core, archive=archive, state_file=state_file))
    return services
