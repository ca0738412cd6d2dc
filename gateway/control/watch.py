"""Control of a village with nothing to control: the overview's alerts and the tick, without the rules.

A configuration with no heated zone, no lighting circuit, no leak watch, no GPIO relay or input and
no water meter gives the rules nothing to read or drive (a site that only meters its buildings, like
the W1 workload of docs/performance.md). The daemon then runs this watch in place of the control
loop (:mod:`gateway.control.loop`): the rules engine, astral, the settings rows' layering and the
building models are never imported (~2–3 MB of RSS on a Pi, ``tests/unit/test_lean_imports.py``).

Rules of this module:
- what the admin page, MQTT and ``/health`` see stays the same: the façade gets a view every tick
  (and after an edit), with no zone, no circuit and the alerts of the last 24 h
  (:func:`gateway.control.alerts.recent_alerts`, as the control loop builds them), so ``/health``
  says ``rules_evaluated: true`` and counts the alarms; the meters come from the state store;
- the service is named ``control`` and has the same liveness check as the loop's tick (the
  watchdog's "rules tick");
- nothing here decides: a configuration that gains zones, circuits or relays is applied by
  re-executing the process (:mod:`gateway.reload`), which then builds the control loop.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from gateway.clock import sleep as monotonic_sleep
from gateway.control.alerts import recent_alerts
from gateway.control.values import Evaluation
from gateway.schema.site import heated_zones
from gateway.service import StopPhase

if TYPE_CHECKING:
    from gateway.config import GatewayConfig
    from gateway.control.facade import Control
    from gateway.core import Core

log = logging.getLogger("gateway.control")


def rules_have_work(config: GatewayConfig) -> bool:
    """Whether the rules have anything to read or drive: a heated zone, a lighting circuit, a leak
    watch, a GPIO relay or input, a water meter (its flow on the overview is the control loop's)."""
    water = any(d.quantity == "water_m3" for bus in config.buses.values() for d in getattr(bus, "devices", ()))
    return bool(
        next(heated_zones(config.buildings), None)
        or config.lighting.circuits
        or config.leaks.meters
        or config.gpio.relays
        or config.gpio.inputs
        or water
    )


class WatchService:
    """Publishes the façade's view (alerts only) every ``tick_s``; the control loop's stand-in.

    Example::

        if not rules_have_work(config):
            service = WatchService(core=core, control=control, tick_s=30.0)
    """

    name = "control"
    stop_phase = StopPhase.PRODUCER

    def __init__(self, *, core: Core, control: Control, tick_s: float) -> None:
        self.core = core
        self.control = control
        self.clock = core.clock
        self.tick_s = tick_s
        self.evaluations = 0
        self.last_tick_at = self.clock.monotonic()

    def prepare(self) -> None:
        """Nothing to set: no relay is wired."""

    async def run(self) -> None:
        """Publish a view now and every ``tick_s`` until cancelled."""
        self.control.attach(asyncio.get_running_loop(), self.evaluate)
        self.evaluate("start")
        try:
            next_at = self.clock.monotonic() + self.tick_s
            while True:
                await monotonic_sleep(self.clock, next_at - self.clock.monotonic())
                now = self.clock.monotonic()
                next_at += self.tick_s
                if next_at <= now:  # missed ticks are not caught up
                    next_at = now + self.tick_s
                self.last_tick_at = now
                self.evaluate("tick")
        finally:
            self.control.detach()

    def evaluate(self, trigger: str = "change") -> None:
        """The view after ``trigger``: no zone, no circuit, the recent alerts. Never raises."""
        try:
            alerts = recent_alerts(self.core.recent_events, self.clock.time_ns())
            self.control.publish(Evaluation(at=self.clock.now(), zones=(), circuits=(), alerts=alerts))
        except Exception:  # the view is for people; the tick (the watchdog's liveness) goes on
            log.exception("control view after %s failed", trigger)
            return
        self.evaluations += 1
        self.core.metrics.inc("gateway_rules_evaluations_total")

    def tick_health(self) -> str | None:
        """Health check for the watchdog: the tick has come within three periods (``None``: healthy)."""
        late = self.clock.monotonic() - self.last_tick_at
        if late <= 3 * self.tick_s:
            return None
        return f"no rules tick for {late:.0f} s (every {self.tick_s:.0f} s expected)"
