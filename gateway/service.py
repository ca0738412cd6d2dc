"""What the daemon runs: named services, each one long-lived task.

A service declares the phase in which it stops, so shutdown is orderly: producers
(drivers, rules) stop first, then the journal commits, then sinks get a last chance to
flush and the web server and watchdog go last.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Protocol


class StopPhase(IntEnum):
    """Order of shutdown: lower stops first."""

    PRODUCER = 0  # drivers, rules: stop producing
    JOURNAL = 1  # final group commit
    CONSUMER = 2  # sinks: last flush (they catch CancelledError, flush with a deadline, re-raise)
    SYSTEM = 3  # web, watchdog, notify


class Service(Protocol):
    """One long-lived task of the daemon."""

    name: str
    stop_phase: StopPhase

    def prepare(self) -> None:
        """Synchronous set-up before any task starts (relay boot states first of all)."""

    async def run(self) -> None:
        """Run until cancelled."""
