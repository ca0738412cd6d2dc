"""Wiring only: configuration -> parts, built in order as typed objects -> one TaskGroup; orderly stop.

Start-up order (:meth:`Daemon.build`, each step a typed call whose inputs are the parts built
before it): relay boot states (:func:`gateway.control.outputs.claim_outputs`) before anything
else — no file opened, no heavy import —; the journal and the core; the clock guard; control
(settings store, façade, loop, the demo's plant; only the façade and a watch of its alerts when
the configuration gives the rules nothing to do: :mod:`gateway.control.watch`); system (clock,
systemd, health checks); Modbus; BLE; the journal's services, the archive and the InfluxDB
sinks; reporting; MQTT; the admin page.
Everything built is kept in one frozen :class:`Parts`; the test and simulation knobs come in one
frozen :class:`gateway.hooks.Hooks`. Then every service's ``prepare()`` and task, in that order.
Shutdown: producers stop (control puts every relay back to its boot state), the journal commits,
sinks flush, the rest stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from gateway.clock import Clock, SystemClock
from gateway.config import GatewayConfig
from gateway.control.outputs import claim_outputs
from gateway.hooks import Hooks
from gateway.metrics import Metrics
from gateway.reload import reload_config
from gateway.service import Service, StopPhase

if TYPE_CHECKING:
    from collections.abc import Mapping

    from drivers.gpio import GpioBank
    from gateway.archive import Archive
    from gateway.clock_guard import ClockGuard
    from gateway.control.facade import Control
    from gateway.core import Core
    from gateway.plant import Plant
    from gateway.services.control_parts import ControlParts, ControlRunner
    from gateway.services.system import HealthCheck
    from gateway.services.web import WebService
    from gateway.web.backend import Backend
    from gateway.web.front import WsgiApp

log = logging.getLogger("gateway.daemon")


@dataclass
class RunOptions:
    """How this process runs, beyond the configuration file."""

    config_path: Path | None = None
    http: str | None = None  # "HOST:PORT" for the admin page, overrides [web].listen
    demo: bool = False  # simulated village: sim servers, MockFactory pins, simulated BLE
    clock: Clock = field(default_factory=SystemClock)
    pin_factory: object = None  # gpiozero pin factory; MockFactory in the demo and tests
    hooks: Hooks = field(default_factory=Hooks)  # test and simulation knobs


@dataclass(frozen=True, kw_only=True)
class Parts:
    """Everything :meth:`Daemon.build` made, in the order it made it."""

    bank: GpioBank | None  # the relays, claimed first (None: nothing wired)
    pins: object  # the pin factory the bank (and the demo's plant) use
    core: Core
    guard: ClockGuard
    control: Control
    control_service: ControlRunner  # the loop; the watch when the configuration gives the rules nothing to do
    plant: Plant | None  # the demo's (or a test's) simulated rooms
    ble_silenced: set[str]  # simulated BLE sensors that stop advertising (shared by plant and radio)
    health_checks: Mapping[str, HealthCheck]
    archive: Archive | None
    web: WebService | None
    services: tuple[Service, ...]


class Daemon:
    """The gateway process: owns the core and the services built from the configuration."""

    def __init__(self, config: GatewayConfig, options: RunOptions | None = None) -> None:
        self.config = config
        self.options = options or RunOptions()
        self.metrics = Metrics()
        self.bank: GpioBank | None = None  # claimed before anything else (kept if the build fails later)
        self.parts: Parts | None = None
        self.reexec_requested = False  # a reload accepted a new configuration: re-execute after stopping
        self.started = asyncio.Event()
        self._stop = asyncio.Event()
        self._reload_requested = asyncio.Event()

    @property
    def core(self) -> Core | None:
        """The core, once built."""
        return self.parts.core if self.parts is not None else None

    @property
    def services(self) -> tuple[Service, ...]:
        """The services, in start order (none before :meth:`build`)."""
        return self.parts.services if self.parts is not None else ()

    def build(self) -> Core:
        """Relays to their boot state; then open the journal, build the core and every part, in order.

        The GPIO bank is claimed before anything else (no file opened, no heavy import), so a
        start that fails afterwards (a corrupt file, a bad port) still leaves the relays safe.
        The subsystems' builders are imported only then (the one place our modules load lazily).
        """
        config, options, hooks = self.config, self.options, self.options.hooks
        pins = self._pins()
        if self.bank is None:
            self.bank = claim_outputs(config, pins)

        from gateway.clock_guard import guard_for
        from gateway.control.watch import rules_have_work
        from gateway.core import Core
        from gateway.journal import open_journal
        from gateway.services import modbus, mqtt, reporting, sinks, system, web

        journal = open_journal(config, metrics=self.metrics, clock=options.clock)
        core = Core(config=config, clock=options.clock, journal=journal, metrics=self.metrics)
        guard = guard_for(config, core)  # wraps the journal: readings are stamped while the clock is untrusted
        silenced: set[str] = set()
        ctl: ControlParts
        if options.demo or hooks.plant or rules_have_work(config):
            from gateway.services import control

            ctl = control.build(
                config, core, bank=self.bank, pins=pins, guard=guard, hooks=hooks, demo=options.demo,
                ble_silenced=silenced,
            )  # fmt: skip
        else:  # nothing for the rules to read or drive: no rules engine, no astral, no building model
            from gateway.services import watch

            ctl = watch.build(config, core, hooks=hooks)
        checks: dict[str, HealthCheck] = {"rules tick": ctl.service.tick_health, **system.health_checks(config, core)}
        clock_and_systemd = system.build(config, core, guard=guard, checks=checks, notifier=hooks.notifier)
        buses = modbus.build(config, core)
        temperature = ctl.plant.temperature if ctl.plant is not None else None
        scanner: list[Service] = []
        if config.ble.listening():  # else neither the BLE driver nor the simulated radio is imported
            from gateway.services import ble

            scanner = ble.build(
                config, core, hooks=hooks, demo=options.demo, zone_temperature=temperature, silenced=silenced
            )
        stores = sinks.build(config, core)
        uploads = reporting.build(config, core, control=ctl.control, guard=guard, archive=stores.archive)
        brokers = mqtt.build(config, core, control=ctl.control)
        page = web.build(
            config, core, control=ctl.control, guard=guard, archive=stores.archive, http=options.http, admin=admin_app
        )
        services: tuple[Service, ...] = (
            *ctl.services,
            *clock_and_systemd,
            *buses,
            *scanner,
            *stores.services,
            *uploads,
            *brokers,
            *([page] if page is not None else []),
        )
        self.parts = Parts(
            bank=self.bank,
            pins=pins,
            core=core,
            guard=guard,
            control=ctl.control,
            control_service=ctl.service,
            plant=ctl.plant,
            ble_silenced=silenced,
            health_checks=checks,
            archive=stores.archive,
            web=page,
            services=services,
        )
        return core

    def add_service(self, service: Service) -> None:
        """One more service after the built ones (a benchmark's workload, a test's synthetic source)."""
        if self.parts is None:
            raise RuntimeError("build() the daemon before adding services")
        self.parts = replace(self.parts, services=(*self.parts.services, service))

    def _pins(self) -> object:
        """The pin factory: the one given, or simulated pins in the demo (the plant and tests share them)."""
        if self.options.pin_factory is None and self.options.demo:
            from gpiozero.pins.mock import MockFactory

            self.options.pin_factory = MockFactory()
        return self.options.pin_factory

    def stop(self) -> None:
        """Ask the daemon to stop (thread-unsafe: call from the loop)."""
        self._stop.set()

    def request_reload(self) -> None:
        """Ask for the configuration to be re-read (SIGHUP)."""
        self._reload_requested.set()

    async def run(self) -> None:
        """Run until :meth:`stop` or a signal."""
        if self.parts is None:
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
        await reload_config(self)


def admin_app(config: GatewayConfig, backend: Backend, secret_key: bytes) -> WsgiApp:
    """The Flask admin app, imported and built on the page's first visit (Flask, Jinja, WTForms,
    Babel and argon2 weigh about 11 MB of RSS: a Pi that only polls pays none of it)."""
    from gateway.users import UserStore
    from gateway.web.app import create_app

    users = UserStore.in_state_dir(config.service.state_dir)
    return create_app(config=config, backend=backend, users=users, secret_key=secret_key)
