"""The relays: claimed at their boot state first of all, re-asserted at every evaluation, released at stop.

Rules of this module:
- :func:`claim_outputs` claims every relay at its declared boot state, the first thing
  ``Daemon.build()`` does (before any file is opened); it imports nothing heavier than the GPIO
  driver, so a start that fails later still leaves the relays safe;
- level-triggered: :meth:`Outputs.apply` re-asserts the desired level of every relay, so a relay
  set by hand is put back (logged once, counted) and after a restart the right state follows from now;
- every relay change is journaled (measurement ``relay``: ``on`` and ``reason``); a relay that
  cannot be driven is counted at every try and logged once per episode;
- the switch time of each relay (``since``, wall-clock ns) is what the rules' minimum on/off and
  maximum run times count from; a clock step moves it (:meth:`Outputs.shift`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from drivers.gpio import GpioBank, InputSpec, RelaySpec
from gateway.model import Reading
from gateway.words import say

if TYPE_CHECKING:
    from gateway.config import GatewayConfig
    from gateway.core import Core
    from rules.types import Decision

log = logging.getLogger("gateway.control")


def bank_from_config(config: GatewayConfig, pin_factory: Any) -> GpioBank:
    """The GPIO bank of ``[gpio]`` on ``pin_factory``."""
    relays = [
        RelaySpec(name, r.pin, active_high=r.active_high, boot_on=r.boot == "on")
        for name, r in config.gpio.relays.items()
    ]
    inputs = [
        InputSpec(
            name,
            i.pin,
            kind=i.kind,
            pull=i.pull,
            active_high=i.active_high,
            debounce_s=i.debounce_ms / 1000.0,
            max_rate_hz=i.max_pulse_rate_hz,
        )
        for name, i in config.gpio.inputs.items()
    ]
    return GpioBank(relays=relays, inputs=inputs, pin_factory=pin_factory)


def claim_outputs(config: GatewayConfig, pin_factory: Any) -> GpioBank | None:
    """Claim every relay at its declared boot state (``None`` when nothing is wired)."""
    if not (config.gpio.relays or config.gpio.inputs):
        return None
    bank = bank_from_config(config, pin_factory)
    bank.prepare()
    return bank


def journal_point(core: Core, measurement: str, tags: Mapping[str, str], fields: dict[str, Any], now_ns: int) -> None:
    """Publish one point of control (relay, input, climate); a clock not set loses the point, not the switch."""
    try:
        reading = Reading.make(measurement, tags, fields, time_ns=now_ns)
    except ValueError as exc:  # clock not set on a Pi without RTC: the relay still switches
        log.warning("%s point not journaled: %s", measurement, exc)
        return
    core.publish(reading)


class Outputs:
    """The relays of the bank as the control loop drives them: levels, switch times, failures."""

    def __init__(self, *, config: GatewayConfig, core: Core, bank: GpioBank, lang: str) -> None:
        self.core = core
        self.bank = bank
        self.lang = lang
        self.clock = core.clock
        #: wall-clock ns of each relay's last switch (minimum on/off, maximum run count from it)
        self.since: dict[str, int] = {}
        self._commanded: dict[str, bool] = {}
        self._failing: set[str] = set()
        self._tags = {
            name: core.tags(device=name, building=r.building, zone=r.zone) for name, r in config.gpio.relays.items()
        }

    def restore(self, saved: Mapping[str, Any], now_ns: int) -> None:
        """The switch times kept at the last stop, where the boot state left the relay as it was."""
        levels = saved.get("relay_on", {})
        for name, since in saved.get("relay_since", {}).items():
            if name not in self.bank.relay_specs:
                continue
            # the last switch time still holds if the boot state left the relay as it was;
            # otherwise the boot itself was a switch (minimum on/off times count from now)
            same = levels.get(name) == self.bank.get(name)
            self.since[name] = int(since) if same else now_ns
        for name, on in self.bank.relay_states().items():
            # a relay on at boot with no memory (boot = "on", lost settings): its run counts from
            # now, so the maximum run time applies (an off one may switch on at once, as at a first start)
            if on:
                self.since.setdefault(name, now_ns)

    def apply(self, decision: Decision) -> None:
        """Re-assert every action's level on its relay; journal and log each change."""
        now_ns = self.clock.time_ns()
        for action in decision.actions:
            name = action.output
            if name not in self.bank.relay_specs:
                continue
            actual = self.bank.get(name)
            commanded = self._commanded.get(name)
            if actual == action.on:
                self._commanded[name] = action.on
                if actual:  # on (by hand, boot state) with no known switch time: its run counts
                    self.since.setdefault(name, now_ns)  # from now (maximum run, minimum on)
                continue
            reason = action.reason.text(self.lang)
            if commanded is not None and commanded != actual:
                self.core.metrics.inc("gateway_relay_putback_total", relay=name)
                reason = say("relay_put_back", self.lang, reason=reason)
                log.warning("relay %s was %s behind the daemon's back; put back", name, "on" if actual else "off")
            if self._drive(name, action.on) is None:
                continue
            self._switched(name, action.on, reason, now_ns)

    def drive_levels(self, levels: Mapping[str, bool]) -> None:
        """Drive ``levels`` (the safe levels while the rules fail); journal each change."""
        now_ns = self.clock.time_ns()
        for name, on in levels.items():
            if not self._drive(name, on):
                continue
            self._switched(name, on, say("relay_safe_level", self.lang), now_ns)

    def release_to_boot_state(self) -> None:
        """On shutdown: every relay back to its declared boot state before gpiozero closes the pins
        (a closed pin floats; the board's pull resistor holds the safe level, docs/control.md)."""
        for name, spec in self.bank.relay_specs.items():
            try:
                changed = self.bank.set(name, spec.boot_on)
            except Exception as exc:  # a pin not claimed or not drivable: nothing more to do here
                log.error("relay %s not set to its boot state at shutdown: %s", name, exc)
                continue
            if changed:
                self.since[name] = self.clock.time_ns()
                log.info("relay %s %s: shutdown, boot state", name, "on" if spec.boot_on else "off")

    def shift(self, step_ns: int) -> None:
        """The wall clock stepped: the switch times (all before the step) move by as much."""
        self.since = {name: since + step_ns for name, since in self.since.items()}

    def _drive(self, name: str, on: bool) -> bool | None:
        """Set one relay: whether it changed, ``None`` when it cannot be driven (counted, logged once)."""
        try:
            changed = self.bank.set(name, on)
        except Exception as exc:
            self.core.metrics.inc("gateway_relay_errors_total", relay=name)
            if name not in self._failing:  # once per episode, not once per evaluation
                self._failing.add(name)
                log.error("relay %s cannot be driven: %s", name, exc)
            return None
        if name in self._failing:
            self._failing.discard(name)
            log.info("relay %s can be driven again", name)
        return changed

    def _switched(self, name: str, on: bool, reason: str, now_ns: int) -> None:
        self._commanded[name] = on
        self.since[name] = now_ns
        self.core.metrics.inc("gateway_relay_switches_total", relay=name)
        log.info("relay %s %s: %s", name, "on" if on else "off", reason)
        journal_point(self.core, "relay", self._tags[name], {"on": on, "reason": reason}, now_ns)
