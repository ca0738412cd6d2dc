"""Relays and inputs on the Pi's GPIO header, through gpiozero, with the pin factory passed in.

Rules of this module:
- the pin factory is a constructor argument: the real one (``lgpio`` on a Pi 5) in production,
  gpiozero's own ``MockFactory`` in tests and in the demo; nothing here reads
  ``GPIOZERO_PIN_FACTORY`` or builds a factory by itself;
- :meth:`GpioBank.prepare` claims every relay pin *with its declared boot state* (gpiozero's
  ``initial_value``), so a relay never clicks on at boot before the software decides; it is the
  first thing the daemon does (Mycodo #555);
- ``active_high = false`` relay boards (most cheap opto-isolated boards) are handled here, once:
  above this module ``on`` always means "energised";
- gpiozero calls input callbacks from its own threads; they are bridged into the event loop in
  exactly one place, :meth:`GpioBank._from_pin_thread`, with ``loop.call_soon_threadsafe``.
  Everything else (debounce, pulse counting, listeners) runs in the loop thread;
- a pulse input with a ``max_rate_hz`` counts at most that many pulses a second (a token bucket
  of :data:`PULSE_BURST` pulses): a faster pulse — electrical noise, a contact chattering longer
  than the debounce — is **implausible**: not counted, not delivered to listeners (so never
  journaled), counted in :attr:`GpioBank.implausible` and ``gateway_gpio_implausible_pulses_total``,
  logged at most once an hour per input;
- this module does not import ``rules`` (nor ``rules`` this one).

Example::

    from gpiozero.pins.mock import MockFactory
    bank = GpioBank(relays=[RelaySpec("hall-heater", 17, active_high=False)],
                    inputs=[InputSpec("hall-motion", 5, kind="motion")],
                    pin_factory=MockFactory())
    bank.prepare()                      # relay pin driven to its boot state (off)
    bank.attach(loop, on_edge)          # edges arrive in the loop as Edge values
    bank.set("hall-heater", True)       # -> True (it changed)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

log = logging.getLogger("drivers.gpio")

InputKind = Literal["motion", "contact", "pulse"]
#: Pulses a pulse input may give at once above its steady rate: one of slack for timing jitter
#: (as a Modbus counter may rise one count more than its rate allows); noise gets no more.
PULSE_BURST = 2.0
#: An input's implausible pulses are logged at most this often (they are counted every time).
IMPLAUSIBLE_LOG_S = 3600.0
#: The metric counting implausible pulses, per input.
IMPLAUSIBLE_METRIC = "gateway_gpio_implausible_pulses_total"


class GpioError(Exception):
    """A pin that cannot be claimed or driven (wrong number, already in use, no permission)."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(f"{name}: {message}")


@dataclass(frozen=True, slots=True)
class RelaySpec:
    """One relay output: its pin, its polarity and its boot state."""

    name: str
    pin: int | str
    active_high: bool = True
    boot_on: bool = False


@dataclass(frozen=True, slots=True)
class InputSpec:
    """One digital input.

    ``pull``: the Pi's internal resistor; ``active_high``: the input is active when the pin reads
    high (a reed switch to ground with ``pull = "up"`` is active when *open*, so ``active_high``).
    ``kind``: ``motion`` (PIR, active while presence is seen), ``contact`` (door/window reed
    switch, active = open), ``pulse`` (meter pulse output, each activation counts once).
    ``debounce_s``: edges closer than this to the previous accepted edge are ignored (contact
    bounce of reed switches and pulse outputs). ``max_rate_hz`` (pulse inputs): the most pulses a
    second the meter can give; faster ones are implausible (``None``: no limit).
    """

    name: str
    pin: int | str
    kind: InputKind
    pull: Literal["up", "down", "none"] = "down"
    active_high: bool = True
    debounce_s: float = 0.0
    max_rate_hz: float | None = None


@dataclass(slots=True)
class _Bucket:
    """A pulse input's allowance: ``tokens`` pulses may come now; refilled at its rate."""

    tokens: float = PULSE_BURST
    at: float | None = None


@dataclass(frozen=True, slots=True)
class Edge:
    """An accepted input change, delivered in the loop thread.

    ``at`` is the monotonic time (seconds) the edge was seen in the pin thread, before the hop
    into the loop; ``count`` is the running pulse count for ``pulse`` inputs (0 otherwise).
    """

    input: str
    kind: InputKind
    active: bool
    at: float
    count: int = 0


class GpioBank:
    """The relays and inputs of one gateway, claimed from one pin factory."""

    def __init__(
        self,
        *,
        relays: Sequence[RelaySpec] = (),
        inputs: Sequence[InputSpec] = (),
        pin_factory: Any,
        ticks: Callable[[], float] = time.monotonic,
    ) -> None:
        names = [r.name for r in relays] + [i.name for i in inputs]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(f"duplicate GPIO names: {sorted(duplicates)}")
        self.relay_specs = {spec.name: spec for spec in relays}
        self.input_specs = {spec.name: spec for spec in inputs}
        self._factory = pin_factory
        self._ticks = ticks
        self._relays: dict[str, Any] = {}
        self._inputs: dict[str, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listeners: list[Callable[[Edge], None]] = []
        self._last_state: dict[str, bool] = {}
        self._last_edge_at: dict[str, float] = {}
        self._invert: dict[str, bool] = {}
        self._counts: dict[str, int] = {spec.name: 0 for spec in inputs if spec.kind == "pulse"}
        self.bounces = 0  # edges ignored by debounce (all inputs)
        #: pulses faster than their input's ``max_rate_hz``, per input (never counted nor delivered)
        self.implausible: dict[str, int] = {}
        self._buckets = {s.name: _Bucket() for s in inputs if s.kind == "pulse" and s.max_rate_hz is not None}
        self._swallowed: set[str] = set()  # inputs whose last (implausible) pulse is still high
        self._logged_at: dict[str, float] = {}
        self._count: Callable[..., None] | None = None

    # ---- boot ----------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Claim every relay pin at its boot state, then the inputs. Idempotent."""
        if not self.relay_specs and not self.input_specs:
            return  # nothing wired: do not pay for importing gpiozero (2.4 MB on a 1 GB Pi)
        from gpiozero import DigitalInputDevice, OutputDevice

        for spec in self.relay_specs.values():
            if spec.name in self._relays:
                continue
            try:
                self._relays[spec.name] = OutputDevice(
                    spec.pin,
                    active_high=spec.active_high,
                    initial_value=spec.boot_on,
                    pin_factory=self._factory,
                )
            except Exception as exc:  # gpiozero raises many kinds (PinInvalidPin, GPIOPinInUse, OSError)
                raise GpioError(spec.name, f"cannot claim relay pin {spec.pin!r}: {exc}") from exc
            boot = "on" if spec.boot_on else "off"
            log.info("relay %s on pin %s set to boot state %s", spec.name, spec.pin, boot)
        for ispec in self.input_specs.values():
            self._claim_input(ispec, DigitalInputDevice)

    def _claim_input(self, spec: InputSpec, device_class: Any) -> None:
        """Claim one input pin with its pull resistor; remember its polarity and level."""
        if spec.name in self._inputs:
            return
        # gpiozero's own notion of "active": low with a pull-up, high otherwise; ours is
        # "the pin reads high" when active_high, so invert where the two differ.
        pull_up = {"up": True, "down": False, "none": None}[spec.pull]
        try:
            device = device_class(
                spec.pin,
                pull_up=pull_up,
                active_state=True if pull_up is None else None,
                pin_factory=self._factory,
            )
        except Exception as exc:
            raise GpioError(spec.name, f"cannot claim input pin {spec.pin!r}: {exc}") from exc
        self._invert[spec.name] = spec.active_high == (pull_up is True)
        self._inputs[spec.name] = device
        self._last_state[spec.name] = bool(device.is_active) != self._invert[spec.name]

    # ---- the one thread bridge ----------------------------------------------------------------
    def attach(self, loop: asyncio.AbstractEventLoop, listener: Callable[[Edge], None] | None = None) -> None:
        """Start delivering input edges into ``loop`` (to ``listener`` and :meth:`add_listener`'s)."""
        self._loop = loop
        if listener is not None:
            self._listeners.append(listener)
        for name, device in self._inputs.items():
            invert = self._invert[name]
            self._last_state[name] = bool(device.is_active) != invert  # the level now, not at prepare()
            device.when_activated = self._callback(name, not invert)
            device.when_deactivated = self._callback(name, invert)

    def add_listener(self, listener: Callable[[Edge], None]) -> None:
        """Also call ``listener(edge)`` (in the loop thread) for every accepted edge."""
        self._listeners.append(listener)

    def count_with(self, count: Callable[..., None]) -> None:
        """Report implausible pulses to ``count(IMPLAUSIBLE_METRIC, input=name)`` (e.g. ``Metrics.inc``)."""
        self._count = count

    def _callback(self, name: str, active: bool) -> Callable[[], None]:
        def callback() -> None:
            self._from_pin_thread(name, active)

        return callback

    def _from_pin_thread(self, name: str, active: bool) -> None:
        """THE bridge: runs in gpiozero's thread; timestamps the edge and hops into the loop."""
        at = self._ticks()
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._on_edge, name, active, at)
        except RuntimeError:  # the loop closed between the check and the call (shutdown)
            return

    def _on_edge(self, name: str, active: bool, at: float) -> None:
        """In the loop: debounce, count pulses, tell listeners."""
        spec = self.input_specs[name]
        if self._last_state.get(name) == active:
            return  # a repeated level (e.g. the other half of a filtered bounce)
        last = self._last_edge_at.get(name)
        if spec.debounce_s > 0 and last is not None and at - last < spec.debounce_s:
            self.bounces += 1
            return
        self._last_state[name] = active
        self._last_edge_at[name] = at
        count = 0
        if spec.kind == "pulse":
            if active and not self._plausible_pulse(spec, at):
                self._swallowed.add(name)
                return
            if not active and name in self._swallowed:  # the end of a pulse that was not counted
                self._swallowed.discard(name)
                return
            if active:
                self._counts[name] += 1
            count = self._counts[name]
        edge = Edge(input=name, kind=spec.kind, active=active, at=at, count=count)
        for listener in list(self._listeners):
            try:
                listener(edge)
            except Exception:
                log.exception("GPIO edge listener %r failed", listener)

    def _plausible_pulse(self, spec: InputSpec, at: float) -> bool:
        """Whether a pulse at ``at`` fits in the input's rate (the token bucket); count it if not."""
        bucket = self._buckets.get(spec.name)
        if bucket is None or spec.max_rate_hz is None:
            return True
        if bucket.at is not None:
            bucket.tokens = min(PULSE_BURST, bucket.tokens + max(0.0, at - bucket.at) * spec.max_rate_hz)
        bucket.at = at
        if bucket.tokens >= 1.0 - 1e-9:
            bucket.tokens -= 1.0
            return True
        total = self.implausible[spec.name] = self.implausible.get(spec.name, 0) + 1
        if self._count is not None:
            self._count(IMPLAUSIBLE_METRIC, input=spec.name)
        logged = self._logged_at.get(spec.name)
        if logged is None or at - logged >= IMPLAUSIBLE_LOG_S:
            self._logged_at[spec.name] = at
            log.warning(
                "pulse input %s: a pulse came faster than its meter can give them (%.3g per second at most): "
                "not counted, not journaled (%d so far; logged at most once an hour). Electrical noise on "
                "the line, or a meter faster than its declared rise_per_hour",
                spec.name,
                spec.max_rate_hz,
                total,
            )
        return False

    # ---- relays -------------------------------------------------------------------------------
    def set(self, name: str, on: bool) -> bool:
        """Drive relay ``name`` (``True`` = energised); returns whether the pin actually changed."""
        device = self._relay(name)
        if bool(device.value) == on:
            return False
        try:
            if on:
                device.on()
            else:
                device.off()
        except Exception as exc:
            raise GpioError(name, f"cannot drive relay: {exc}") from exc
        return True

    def get(self, name: str) -> bool:
        """The relay's actual state, read from the pin (a hand-flipped relay shows here)."""
        return bool(self._relay(name).value)

    def relay_states(self) -> dict[str, bool]:
        """Every relay's actual state."""
        return {name: bool(device.value) for name, device in self._relays.items()}

    def input_active(self, name: str) -> bool:
        """The last accepted level of input ``name``."""
        if name not in self.input_specs:
            raise KeyError(name)
        return self._last_state.get(name, False)

    def pulse_count(self, name: str) -> int:
        """Accepted pulses of ``name`` since start."""
        return self._counts[name]

    def input_names(self, kind: InputKind | None = None) -> Iterable[str]:
        """Input names, optionally only of one kind."""
        return [n for n, s in self.input_specs.items() if kind is None or s.kind == kind]

    def _relay(self, name: str) -> Any:
        try:
            return self._relays[name]
        except KeyError:
            if name in self.relay_specs:
                raise GpioError(name, "relay not prepared (prepare() not called)") from None
            raise KeyError(f"unknown relay {name!r}") from None

    def close(self) -> None:
        """Release the pins. A released pin floats: drive the relays to their boot state first
        (the control service does, on shutdown); the board's pull resistor holds it afterwards."""
        for device in (*self._inputs.values(), *self._relays.values()):
            try:
                device.close()
            except Exception:  # closing must never mask the real reason for shutdown
                log.debug("closing %r failed", device, exc_info=True)
        self._inputs.clear()
        self._relays.clear()
        self._loop = None
