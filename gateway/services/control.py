"""Builds control: the settings store, the façade, the control loop (and the demo's plant).

Everything that runs lives in :mod:`gateway.control` (one folder answers "why did this relay
switch"); this module only assembles it from the configuration.

Rules of this module:
- the relays were claimed at their boot state by the daemon before anything else
  (:func:`gateway.control.outputs.claim_outputs`); the bank it claimed is handed in and reused;
- a settings store found corrupt is moved aside and a fresh one used; people are told
  (``settings_reset`` alarm) what was lost;
- the façade it returns (:class:`ControlParts`) is what the web and MQTT builders are handed.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from drivers.gpio import GpioBank
from gateway.clock_guard import ClockGuard
from gateway.config import GatewayConfig
from gateway.control.facade import Control
from gateway.control.loop import ControlService
from gateway.control.outputs import bank_from_config
from gateway.control.settings_store import SettingsStore
from gateway.core import Core
from gateway.hooks import Hooks
from gateway.model import Event
from gateway.plant import Plant, build_plant
from gateway.service import Service

log = logging.getLogger("gateway.control")

METRICS = {
    "gateway_rules_evaluations_total": "rules evaluations (ticks, changes, edits)",
    "gateway_rules_errors_total": "rules evaluations that failed (relays kept their state)",
    "gateway_relay_switches_total": "relay changes driven by the rules",
    "gateway_relay_putback_total": "relays found changed behind the daemon's back and put back",
    "gateway_relay_errors_total": "relay writes that failed",
    "gateway_settings_rows_skipped_total": "settings rows (overrides) the rules could not use, per evaluation",
    "gateway_gpio_implausible_pulses_total": "pulses faster than their input's rise_per_hour (never journaled)",
}


@dataclass(frozen=True, kw_only=True)
class ControlParts:
    """What the control subsystem hands the daemon: the façade, the loop, the demo's plant."""

    control: Control
    service: ControlService
    plant: Plant | None

    @property
    def services(self) -> tuple[Service, ...]:
        """The services to run, the control loop first."""
        return (self.service,) if self.plant is None else (self.service, self.plant)


def build(
    config: GatewayConfig,
    core: Core,
    *,
    bank: GpioBank | None,
    pins: object,
    guard: ClockGuard | None,
    hooks: Hooks,
    demo: bool = False,
    ble_silenced: set[str] | None = None,
) -> ControlParts:
    """The façade and the control loop on ``bank`` (``None``: nothing claimed, an unprepared bank on ``pins``)."""
    for name, help_text in METRICS.items():
        core.metrics.describe(name, "counter", help_text)
    core.metrics.describe("gateway_rules_ok", "gauge", "1 while the rules evaluate, 0 while outputs are held safe")
    core.metrics.set("gateway_rules_ok", 1)
    store = SettingsStore.open(config.service.state_dir / "settings.sqlite", now=core.clock.now())
    if store.recovered:
        log.error("%s", store.recovered)
        with contextlib.suppress(Exception):
            core.raise_event(Event("settings_reset", "settings", store.recovered, core.clock.time_ns(), "alarm"))
    control = Control(config=config, store=store, now=core.clock.now, state=core.state)
    if bank is None:  # nothing wired (or built without the daemon): a bank prepared by the service
        has_gpio = bool(config.gpio.relays or config.gpio.inputs)
        bank = bank_from_config(config, pins if has_gpio else None)
    bank.count_with(core.metrics.inc)
    service = ControlService(
        config=config,
        core=core,
        bank=bank,
        store=store,
        control=control,
        tick_s=hooks.control_tick_s,
        startup_grace_s=hooks.startup_grace_s(),
        guard=guard,
    )
    plant = None
    if demo or hooks.plant:
        silenced = ble_silenced if ble_silenced is not None else set()
        plant = build_plant(
            config, core, relay_level=bank.get, pins=pins, hooks=hooks, demo=demo, ble_silenced=silenced
        )
    return ControlParts(control=control, service=service, plant=plant)
