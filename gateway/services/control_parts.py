"""What both control builders share: the façade on the settings store, the metrics, :class:`ControlParts`.

Rules of this module: light (no rules engine, no control loop, no building model imported), so the
watch of a village without rules (:mod:`gateway.services.watch`) does not load them; the full build
is :mod:`gateway.services.control`. A settings store found corrupt is moved aside and a fresh one
used; people are told (``settings_reset`` alarm) what was lost.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from gateway.config import GatewayConfig
from gateway.control.facade import Control
from gateway.control.settings_store import SettingsStore
from gateway.core import Core
from gateway.model import Event
from gateway.service import Service, StopPhase

if TYPE_CHECKING:
    from gateway.plant import Plant

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


class ControlRunner(Protocol):
    """The control service the daemon runs: the loop, or the watch of a village without rules."""

    name: str
    stop_phase: StopPhase

    def prepare(self) -> None: ...

    async def run(self) -> None: ...

    def tick_health(self) -> str | None: ...


@dataclass(frozen=True, kw_only=True)
class ControlParts:
    """What the control subsystem hands the daemon: the façade, the loop (or watch), the demo's plant."""

    control: Control
    service: ControlRunner
    plant: Plant | None

    @property
    def services(self) -> tuple[Service, ...]:
        """The services to run, the control service first."""
        return (self.service,) if self.plant is None else (self.service, self.plant)


def open_facade(config: GatewayConfig, core: Core) -> tuple[Control, SettingsStore]:
    """The control metrics described, the settings store opened (moved aside if corrupt), the façade on it."""
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
    return control, store
