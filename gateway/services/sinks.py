"""Storage and upload services: the journal's group commit, the hourly archive, the sinks.

Rules of this module:
- the journal is opened by the daemon (before the core exists); here it gets its task:
  :class:`JournalService` (stop phase ``JOURNAL``: producers have stopped, the final group
  commit runs, then sinks flush) and raises the journal's queued events (corrupt file moved
  aside, disk budget) through ``core.raise_event``;
- :class:`JournalCloser` closes the journal in the last stop phase, after the sinks have
  flushed and moved their cursors;
- :class:`ArchiveService` is fed by the journal's committed batches (no re-reading), flushes
  every ``flush_interval_s`` and prunes daily; it stops after the journal's final commit;
- sink services come from their own modules (``gateway.sinks.influx``), imported here only.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from gateway.archive import Archive
from gateway.journal import Journal
from gateway.service import Service, StopPhase
from gateway.sinks.influx import build_influx_sinks

if TYPE_CHECKING:
    from gateway.config import GatewayConfig
    from gateway.core import Core

log = logging.getLogger("gateway.services.sinks")

_PRUNE_EVERY_S = 24 * 3600.0


class JournalService:
    """The group-commit loop of the journal."""

    name = "journal"
    stop_phase = StopPhase.JOURNAL

    def __init__(self, journal: Journal, core: Core) -> None:
        self.journal = journal
        self.core = core

    def prepare(self) -> None:
        """Raise what happened while opening the journal (e.g. a corrupt file moved aside)."""
        self.journal.set_event_handler(self.core.raise_event)

    async def run(self) -> None:
        await self.journal.run()


class JournalCloser:
    """Closes the journal last, after the sinks' final flush: their cursor moves are saved too."""

    name = "journal-close"
    stop_phase = StopPhase.SYSTEM

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def prepare(self) -> None:
        """Nothing to prepare."""

    async def run(self) -> None:
        try:
            await asyncio.Event().wait()  # idle until the daemon stops
        finally:
            self.journal.close()  # final commit, cursors, checkpoint: a clean file for the next start


class ArchiveService:
    """Flushes the hourly archive and prunes it past its retention."""

    name = "archive"
    stop_phase = StopPhase.CONSUMER  # after the journal's final commit has fed it

    def __init__(self, archive: Archive, core: Core, *, flush_interval_s: float) -> None:
        self.archive = archive
        self.core = core
        self.flush_interval_s = flush_interval_s

    def prepare(self) -> None:
        for event in self.archive.take_events():
            self.core.raise_event(event)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_prune = loop.time()
        failing = False
        try:
            while True:
                if loop.time() >= next_prune:
                    next_prune = loop.time() + _PRUNE_EVERY_S
                    try:
                        await self.archive.aprune()
                    except Exception as exc:  # disk full, locked file: retried at the next prune, never fatal
                        log.error("archive prune failed (%s); retrying in %.0f h", exc, _PRUNE_EVERY_S / 3600)
                await asyncio.sleep(self.flush_interval_s)
                try:
                    rows = await self.archive.aflush()
                except Exception as exc:  # storage trouble: the hours stay in memory; keep running, say it once
                    if not failing:
                        log.error("archive flush failed (%s); the hourly figures stay in memory, retrying "
                                  "every %g s", exc, self.flush_interval_s)
                    failing = True
                else:
                    if failing:  # a flush fails whole and keeps its hours: this one wrote them
                        log.warning("archive flush works again (%d hour rows written, with those kept since "
                                    "the failure)", rows)
                    failing = False
        except asyncio.CancelledError:
            self.archive.close()  # never raises for the disk: what it cannot write is logged and counted
            raise


def open_archive(config: GatewayConfig, core: Core) -> Archive:
    """The hourly archive the configuration describes (``<state_dir>/archive.sqlite`` by default)."""
    settings = config.journal.archive
    path = settings.path or config.service.state_dir / "archive.sqlite"
    return Archive(path, clock=core.clock, retention_years=settings.retention_years, metrics=core.metrics)


@dataclass(frozen=True, kw_only=True)
class SinkParts:
    """The journal's services and sinks, and the hourly archive (``None`` without one) for the pages."""
    services: tuple[Service, ...]
    archive: Archive | None


def build(config: GatewayConfig, core: Core) -> SinkParts:
    """Journal commit loop, hourly archive, InfluxDB sinks."""
    # the core's journal may be wrapped (the clock guard stamps readings); wrappers delegate the rest
    journal = cast(Journal, core.journal)
    services: list[Service] = [JournalService(journal, core), JournalCloser(journal)]
    archive: Archive | None = None
    if config.journal.archive.enabled:
        try:
            archive = open_archive(config, core)
        except (OSError, sqlite3.Error) as exc:  # the daemon runs without its archive rather than not at all
            log.error("hourly archive cannot be opened (%s); running without it", exc)
        else:
            journal.add_batch_listener(archive.add)
            services.append(ArchiveService(archive, core, flush_interval_s=config.journal.archive.flush_interval_s))
    services.extend(build_influx_sinks(config, core, journal))
    return SinkParts(services=tuple(services), archive=archive)
