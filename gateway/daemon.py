"""Wiring only: configuration -> services -> one TaskGroup; orderly stop on SIGTERM/SIGINT.

Start-up order: relay boot states (``gateway.services.control.claim_outputs``, the first line
of ``build()``) before anything else; then every service's ``prepare()`` and task.
Shutdown: producers stop (control puts every relay back to its boot state), the journal commits,
sinks flush, the rest stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.clock import Clock, SystemClock
from gateway.config import GatewayConfig
from gateway.core import Core
from gateway.metrics import Metrics
from gateway.service import Service, StopPhase
from gateway.services import SUBSYSTEMS

log = logging.getLogger("gateway.daemon")


@dataclass
class RunOptions:
    """How this process runs, beyond the configuration file."""

    config_path: Path | None = None
    http: str | None = None  # "HOST:PORT" for the admin page, overrides [web].listen
    demo: bool = False  # simulated village: sim servers, MockFactory pins, simulated BLE
    clock: Clock = field(default_factory=SystemClock)
    pin_factory: Any = None  # gpiozero pin factory; MockFactory in the demo and tests
    extras: dict[str, Any] = field(default_factory=dict)  # test and simulation hooks


class Daemon:
    """The gateway process: owns the core and the services built from the configuration."""

    def __init__(self, config: GatewayConfig, options: RunOptions | None = None) -> None:
        self.config = config
        self.options = options or RunOptions()
        self.metrics = Metrics()
        self.core: Core | None = None
        self.services: list[Service] = []
        self.started = asyncio.Event()
        self._stop = asyncio.Event()
        self._reload_requested = asyncio.Event()

    def build(self) -> Core:
        """Relays to their boot state; then open the journal, build the core and every service.

        The GPIO bank is claimed before anything else (no file opened, no heavy import), so a
        start that fails afterwards (a corrupt file, a bad port) still leaves the relays safe.
        """
        from gateway.services.control import claim_outputs

        claim_outputs(self.config, self.options)

        from gateway.journal import open_journal

        journal = open_journal(self.config, metrics=self.metrics, clock=self.options.clock)
        self.core = Core(config=self.config, clock=self.options.clock, journal=journal, metrics=self.metrics)
        self.services = []
        for module_name in SUBSYSTEMS:
            module = importlib.import_module(module_name)
            self.services.extend(module.build(self.config, self.core, self.options))
        return self.core

    def stop(self) -> None:
        """Ask the daemon to stop (thread-unsafe: call from the loop)."""
        self._stop.set()

    def request_reload(self) -> None:
        """Ask for the configuration to be re-read (SIGHUP)."""
        self._reload_requested.set()

    async def run(self) -> None:
        """Run until :meth:`stop` or a signal."""
        if self.core is None:
            self.build()
        for service in self.services:
            service.prepare()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, self.stop)
            loop.add_signal_handler(signal.SIGINT, self.stop)
            loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        try:
            async with asyncio.TaskGroup() as group:
                tasks: dict[StopPhase, list[asyncio.Task[None]]] = {phase: [] for phase in StopPhase}
                for service in self.services:
                    task = group.create_task(service.run(), name=service.name)
                    tasks[service.stop_phase].append(task)
                log.info(
                    "started %d services: %s", len(self.services), ", ".join(s.name for s in self.services)
                )
                self.started.set()
                group.create_task(self._supervise(tasks), name="supervisor")
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                    loop.remove_signal_handler(sig)
            log.info("stopped")

    async def _supervise(self, tasks: dict[StopPhase, list[asyncio.Task[None]]]) -> None:
        while not self._stop.is_set():
            stop = asyncio.ensure_future(self._stop.wait())
            reload = asyncio.ensure_future(self._reload_requested.wait())
            await asyncio.wait({stop, reload}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            reload.cancel()
            if self._reload_requested.is_set() and not self._stop.is_set():
                self._reload_requested.clear()
                await self._reload()
        log.info("stopping")
        for phase in StopPhase:
            for task in tasks[phase]:
                task.cancel()
            if tasks[phase]:
                await asyncio.wait(tasks[phase])

    async def _reload(self) -> None:
        """Re-read the configuration; keep running on the old one if the new one is invalid."""
        from gateway.reload import reload_config

        await reload_config(self)
