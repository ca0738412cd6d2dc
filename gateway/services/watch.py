"""Builds control for a village with nothing to control: the façade and its watch, no rules.

The daemon calls this builder instead of :mod:`gateway.services.control` when
:func:`gateway.control.watch.rules_have_work` says the configuration gives the rules nothing to read
or drive (and it is not the demo): the admin page, MQTT and ``/health`` get the same façade, fed by
:class:`gateway.control.watch.WatchService`; the rules engine, astral and the building models are
not imported.
"""

from __future__ import annotations

from gateway.config import GatewayConfig
from gateway.control.watch import WatchService
from gateway.core import Core
from gateway.hooks import Hooks
from gateway.services.control_parts import ControlParts, open_facade


def build(config: GatewayConfig, core: Core, *, hooks: Hooks) -> ControlParts:
    """The façade on the settings store and the watch that publishes its view every tick."""
    control, _store = open_facade(config, core)
    service = WatchService(core=core, control=control, tick_s=hooks.control_tick_s)
    return ControlParts(control=control, service=service, plant=None)
