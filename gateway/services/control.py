"""Builds control: the settings store, the façade, the control loop (and the demo's plant).

Everything that runs lives in :mod:`gateway.control` (one folder answers "why did this relay
switch"); this module only assembles it from the configuration.

Rules of this module:
- the relays were claimed at their boot state by the daemon before anything else
  (:func:`gateway.control.outputs.claim_outputs`); the bank it claimed is handed in and reused;
- a settings store found corrupt is moved aside and a fresh one used; people are told
  (``settings_reset`` alarm) what was lost;
- the façade it returns (:class:`ControlParts`) is what the web and MQTT builders are handed;
- a configuration that gives the rules nothing to do is built by :mod:`gateway.services.watch`
  instead (the daemon chooses); what both share is in :mod:`gateway.services.control_parts`.
"""

from __future__ import annotations

from drivers.gpio import GpioBank
from gateway.clock_guard import ClockGuard
from gateway.config import GatewayConfig
from gateway.control.loop import ControlService
from gateway.control.outputs import bank_from_config
from gateway.core import Core
from gateway.hooks import Hooks
from gateway.plant import build_plant
from gateway.services.control_parts import METRICS, ControlParts, open_facade

__all__ = ["METRICS", "ControlParts", "build"]


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
    control, store = open_facade(config, core)
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
