"""Safe by default: the level of every output while the rules cannot run, and the failure episodes.

Rules of this module:
- a failing evaluation never leaves the outputs at their last state: after :data:`RULES_FAIL_LIMIT`
  failures in a row (or no good evaluation for two ticks) the heating goes to its safe level
  (:func:`safe_levels`), re-asserted at every failure;
- one episode, one ``rules_failed`` alarm and one traceback; the first good evaluation after it
  ends the episode (``rules_failed_end``), the gauge ``gateway_rules_ok`` says which side we are on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from drivers.gpio import GpioBank
from gateway.clock import Clock
from gateway.schema.site import heated_zones
from gateway.words import say

if TYPE_CHECKING:
    from gateway.config import GatewayConfig


log = logging.getLogger("gateway.control")

#: Failed evaluations in a row before the heating outputs are driven to their safe level.
RULES_FAIL_LIMIT = 2



def safe_levels(config: GatewayConfig, bank: GpioBank) -> dict[str, bool]:
    """The level each output takes while the rules cannot run (docs/control.md, "Safe by default").

    A heater relay: off. A pilot-wire pair: the hors-gel order (minus only), so convectors keep
    the building above freezing on their own thermostat. A lighting circuit: its boot state.
    A leak valve: left as it is (closing or opening water without the rules is no safer).
    """
    levels: dict[str, bool] = {}
    for *_, heating in heated_zones(config.buildings):
        if heating.pilot_wire is not None:
            levels[heating.pilot_wire.plus] = False
            levels[heating.pilot_wire.minus] = True
        elif heating.relay:
            levels[heating.relay] = False
    for circuit in config.lighting.circuits.values():
        spec = bank.relay_specs.get(circuit.relay)
        if spec is not None:
            levels[circuit.relay] = spec.boot_on
    return {name: on for name, on in levels.items() if name in bank.relay_specs}


class FailureEpisodes:
    """Counts failed evaluations; says when an episode starts (drive safe, alarm) and ends."""

    def __init__(
        self,
        *,
        clock: Clock,
        metrics: Any,
        tick_s: float,
        on_change: Callable[[bool], None],
        raise_event: Callable[[str, str, str], None],
        lang: str = "fr",
    ) -> None:
        self.clock = clock
        self.metrics = metrics
        self.tick_s = tick_s
        self._on_change = on_change  # called with the new "rules ok" value at each episode's edge
        self._raise = raise_event
        self.lang = lang
        self.streak = 0  # failed evaluations in a row
        self._last_good = clock.monotonic()
        self.failing = False  # heating outputs held at their safe level

    def failed(self, trigger: str) -> bool:
        """An evaluation raised: counted; whether the outputs must go (again) to their safe level."""
        self.metrics.inc("gateway_rules_errors_total")
        self.streak += 1
        stale = self.clock.monotonic() - self._last_good > 2 * self.tick_s
        if self.streak < RULES_FAIL_LIMIT and not stale:
            log.warning("rules evaluation failed (%s); relays keep their state until the next try", trigger)
            return False
        if not self.failing:
            self.failing = True
            log.exception(
                "rules evaluation failed %d times in a row (%s): heating outputs held at their safe level"
                " until the rules work again",
                self.streak,
                trigger,
            )
            self.metrics.set("gateway_rules_ok", 0)
            self._raise("rules_failed", "alarm", say("rules_failed", self.lang))
            self._on_change(False)
        return True

    def succeeded(self) -> None:
        """A good evaluation (its outputs and events went through): the episode, if any, ends."""
        self.streak = 0
        self._last_good = self.clock.monotonic()
        if not self.failing:
            return
        self.failing = False
        self.metrics.set("gateway_rules_ok", 1)
        self._on_change(True)
        log.info("rules evaluate again: control resumed")
        self._raise("rules_failed_end", "info", say("rules_failed_end", self.lang))
