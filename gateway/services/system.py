"""System services: systemd notification and watchdog, and the clock monitor (issue 6).

- ``systemd``: sends ``READY=1`` once every service's task has started (relay boot states were
  set in ``prepare`` before), then ``WATCHDOG=1`` every ``WatchdogSec/2`` *from the event loop*
  and only while every health check passes: a blocked loop or a failed check stops the pings
  and systemd restarts the service. ``STATUS=`` says what the admin would want to know;
  ``STOPPING=1`` on shutdown.
- ``clock``: runs :meth:`gateway.clock_guard.ClockGuard.check` every ``check_interval_s``
  and saves the last trusted time at shutdown.

Health checks are callables returning ``None`` when healthy or a reason; the daemon gathers them
by name (the control loop's tick, the journal's commits: :func:`health_checks`) and hands them
to :func:`build`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from gateway.clock_guard import ClockGuard
from gateway.config import GatewayConfig
from gateway.core import Core
from gateway.service import Service, StopPhase
from gateway.systemd_notify import Notifier

log = logging.getLogger("gateway.system")

HealthCheck = Callable[[], "str | None"]

#: STATUS= refresh period when systemd asks for no watchdog.
STATUS_INTERVAL_S = 30.0
#: The journal may go this long (at least) without a commit while readings wait.
STALL_MIN_S = 120.0


class JournalLiveness:
    """Unhealthy when readings wait but the journal's group commit has not advanced for ``stall_s``.

    (A hung SQLite thread on a failing SD card: a restart is the one remedy the daemon has, and
    systemd's start limit makes a hopeless case visible rather than silent.)
    """

    def __init__(self, journal: Any, *, stall_s: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.journal = journal
        self.stall_s = stall_s
        self._monotonic = monotonic
        self._commits: int | None = None
        self._ok_since = monotonic()

    def __call__(self) -> str | None:
        stats = self.journal.stats()
        now = self._monotonic()
        if stats.buffered == 0 or stats.commits != self._commits:
            self._commits = stats.commits
            self._ok_since = now
            return None
        stalled = now - self._ok_since
        if stalled < self.stall_s:
            return None
        return f"no group commit for {stalled:.0f} s with {stats.buffered} readings waiting"


class SystemdService:
    """READY, WATCHDOG (only while healthy), STATUS and STOPPING for systemd."""

    name = "systemd"
    stop_phase = StopPhase.SYSTEM

    def __init__(self, *, notifier: Notifier, guard: ClockGuard | None, checks: Mapping[str, HealthCheck]) -> None:
        self.notifier = notifier
        self.guard = guard
        self.checks = checks
        self._unhealthy: str | None = None
        self._status = ""

    def prepare(self) -> None:
        """Nothing before the tasks start."""

    def problems(self) -> list[str]:
        """Failing health checks, as ``name: reason`` (an exception counts as a failure)."""
        found = []
        for name, check in dict(self.checks).items():
            try:
                reason = check()
            except Exception as exc:  # a broken check must not stop the pings silently
                reason = f"check raised {type(exc).__name__}: {exc}"
            if reason:
                found.append(f"{name}: {reason}")
        return found

    def status_line(self) -> str:
        """One line for ``systemctl status``."""
        parts = ["running"]
        if self.guard is not None:
            status = self.guard.status
            untrusted = f"CLOCK NOT TRUSTED ({status.reason}), safe mode"
            parts.append("clock trusted" if status.trusted else untrusted)
        if self._unhealthy:
            parts.append(f"UNHEALTHY: {self._unhealthy}")
        return "; ".join(parts)

    async def run(self) -> None:
        """Announce readiness, then ping while healthy until cancelled."""
        await asyncio.sleep(0)  # every service's task has now taken its first step
        self._status = self.status_line()
        self.notifier.notify(ready=True, status=self._status)
        interval = self.notifier.watchdog_interval_s()
        log.info("ready (%s)", f"watchdog ping every {interval:.1f} s" if interval else "no watchdog")
        try:
            while True:
                self._tick()
                await asyncio.sleep(self.notifier.watchdog_interval_s() or STATUS_INTERVAL_S)
        except asyncio.CancelledError:
            self.notifier.notify(stopping=True, status="stopping")
            self.notifier.close()
            raise

    def _tick(self) -> None:
        problems = self.problems()
        unhealthy = "; ".join(problems) or None
        if unhealthy != self._unhealthy:
            if unhealthy:
                log.error("unhealthy: %s; watchdog pings stop so systemd restarts the service", unhealthy)
            else:
                log.info("healthy again; watchdog pings resume")
            self._unhealthy = unhealthy
        status = self.status_line()
        send_status = status if status != self._status else None
        self._status = status
        if unhealthy is None and self.notifier.watchdog_interval_s():
            self.notifier.notify(watchdog=True, status=send_status)
        elif send_status is not None:
            self.notifier.notify(status=send_status)


class ClockService:
    """Checks the clock every ``check_interval_s``; persists the last trusted time on stop."""

    name = "clock"
    stop_phase = StopPhase.SYSTEM

    def __init__(self, guard: ClockGuard) -> None:
        self.guard = guard

    def prepare(self) -> None:
        """Decide before anything runs, so the first rules tick already knows."""
        self.guard.check()

    async def run(self) -> None:
        """Check periodically until cancelled."""
        try:
            while True:
                await asyncio.sleep(self.guard.policy.check_interval_s)
                self.guard.check()
        finally:
            self.guard.persist()


def health_checks(config: GatewayConfig, core: Core) -> dict[str, HealthCheck]:
    """The journal's liveness check (when the core's journal keeps statistics)."""
    if not callable(getattr(core.journal, "stats", None)):
        return {}
    stall_s = max(STALL_MIN_S, 30 * config.journal.commit_interval_s)
    return {"journal": JournalLiveness(core.journal, stall_s=stall_s)}


def build(
    config: GatewayConfig,
    core: Core,
    *,
    guard: ClockGuard,
    checks: Mapping[str, HealthCheck],
    notifier: Notifier | None = None,
) -> list[Service]:
    """The clock monitor and the systemd notifier, pinging while every one of ``checks`` passes."""
    notifier = notifier or Notifier.from_environment()
    return [ClockService(guard), SystemdService(notifier=notifier, guard=guard, checks=checks)]
