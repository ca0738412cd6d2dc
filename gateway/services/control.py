"""Builds control: the relays claimed at their boot state, the settings store, the façade, the loop.

Everything that runs lives in :mod:`gateway.control` (one folder answers "why did this relay
switch"); this module only assembles it from the configuration.

Rules of this module:
- :func:`claim_outputs` is the first thing ``Daemon.build()`` does (before any file is opened);
  the bank it claims is reused here;
- a settings store found corrupt is moved aside and a fresh one used; people are told
  (``settings_reset`` alarm) what was lost;
- ``build()`` puts the :class:`gateway.control.facade.Control` façade in ``options.extras["control"]``
  for the web and MQTT subsystems built after it.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from drivers.gpio import GpioBank
from gateway.clock_guard import guard_for
from gateway.control.facade import Control
from gateway.control.loop import STARTUP_GRACE_S, TICK_S, ControlService
from gateway.control.outputs import bank_from_config
from gateway.control.outputs import claim_outputs as claim_bank
from gateway.control.settings_store import SettingsStore
from gateway.model import Event
from gateway.plant import build_plant
from gateway.service import Service
from gateway.services.system import add_health_check

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


def claim_outputs(config: Any, options: Any) -> GpioBank | None:
    """Claim every relay at its declared boot state: the first thing ``Daemon.build()`` does.

    The bank is kept in ``options.extras["gpio_bank"]`` and reused by :func:`build`; ``None``
    when nothing is wired.
    """
    extras = options.extras
    bank = extras.get("gpio_bank")
    if bank is not None:
        return bank  # type: ignore[no-any-return]
    if not (config.gpio.relays or config.gpio.inputs):
        return None
    bank = claim_bank(config, _pin_factory(options))
    extras["gpio_bank"] = bank
    return bank


def build(config: Any, core: Any, options: Any) -> list[Service]:
    """The control service (and, in the demo, the simulated plant); the façade in ``options.extras``."""
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
    extras = getattr(options, "extras", None)
    if extras is None:
        extras = {}
    bank = claim_outputs(config, options) if isinstance(getattr(options, "extras", None), dict) else None
    if bank is None:  # nothing wired (or options without extras): an empty bank
        has_gpio = bool(config.gpio.relays or config.gpio.inputs)
        bank = bank_from_config(config, _pin_factory(options) if has_gpio else None)
    bank.count_with(core.metrics.inc)
    tick_s = float(extras.get("control_tick_s", TICK_S))
    grace = float(extras.get("control_startup_grace_s", min(STARTUP_GRACE_S, tick_s)))
    # the daemon's one clock guard (the system service checks it periodically; whoever builds first
    # creates it): the rules run in safe modes while the clock is not trusted
    guard = guard_for(config, core, options) if isinstance(getattr(options, "extras", None), dict) else None
    service = ControlService(
        config=config,
        core=core,
        bank=bank,
        store=store,
        control=control,
        tick_s=tick_s,
        startup_grace_s=grace,
        guard=guard,
    )
    extras["control"] = control
    extras["control_service"] = service
    if isinstance(getattr(options, "extras", None), dict):
        add_health_check(options, "rules tick", service.tick_health)
    services: list[Service] = [service]
    if getattr(options, "demo", False) or extras.get("plant"):
        services.extend(build_plant(config, core, options, service))
    return services


def _pin_factory(options: Any) -> Any:
    factory = getattr(options, "pin_factory", None)
    if factory is None and getattr(options, "demo", False):
        from gpiozero.pins.mock import MockFactory

        factory = MockFactory()
        options.pin_factory = factory  # the demo's plant and tests reach the same pins
    return factory
