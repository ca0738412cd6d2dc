"""``[gpio]``: relays and inputs on the Pi's header (issue 3).

Rules of this section:
- every relay declares its boot state (``boot = "off"`` unless said otherwise) and polarity
  (``active_high``; most cheap opto-isolated relay boards are active-low);
- a pin is used once; a relay or input named by the rules (heating, pilot wire, lighting,
  valve, presence, window contact) must exist here, with the right kind (:func:`cross_check`);
- an input belongs to a building and a zone (heating: window contact) or a lighting circuit
  (presence);
- a zone's presence inputs (``heating.presence.inputs``, the no-show rule) are motion detectors or
  door contacts: a pulse input or a relay there is an error (an energy meter's pulses are not people);
- a pulse input's numbers are finite and bounded, like a Modbus pulse counter's: ``scale``
  1e-6..1000 units per pulse, ``debounce_ms`` 0..10 000; it has a **plausible rate**,
  ``rise_per_hour`` (the most its quantity may grow in an hour: the meter's overload flow, the
  supply's power; defaults for ``water_m3`` and ``energy_*_kwh`` as the ``pulse-counter``
  profile's), which the driver enforces (faster pulses are counted apart and never journaled);
  a ``debounce_ms`` that would swallow pulses arriving at that rate is refused.

Example::

    [gpio.relays.salle-chauffage]
    pin = 17                 # BCM number
    active_high = false      # relay board energised when the pin is low
    boot = "off"
    building = "salle"
    zone = "grande_salle"

    [gpio.inputs.salle-presence]
    pin = 5
    kind = "motion"          # motion | contact | pulse
    building = "salle"

    [gpio.inputs.ecole-eau]
    pin = 6
    kind = "pulse"
    quantity = "water_m3"
    scale = 0.001            # one pulse = 1 L
    rise_per_hour = 5        # a DN20 meter's overload flow (default for water: 60)
    debounce_ms = 10
    building = "ecole"
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, model_validator

from gateway.schema.base import Ident, Section
from gateway.schema.site import heated_zones

if TYPE_CHECKING:
    from gateway.config import GatewayConfig

#: BCM GPIO numbers of the 40-pin header (0 and 1 are the HAT EEPROM bus: refused).
BcmPin = Annotated[int, Field(ge=2, le=27)]
#: What one pulse may be worth, in its quantity: as a Modbus pulse counter's ``scale``
#: (``drivers.modbus_profile.SCALE_RANGE``; 0.001 = one litre or one Wh).
PULSE_SCALE_RANGE = (1e-6, 1000.0)
#: The largest rise per hour of the counter quantities when the input does not say: the
#: ``pulse-counter`` profile's ``[bounds.rise_per_hour]`` (EN ISO 4064 Q4 of a DN65 water meter;
#: a 250 kVA supply at full load), sources in docs/meter-profiles.md.
DEFAULT_RISE_PER_HOUR = {"water_m3": 60.0, "energy_import_kwh": 300.0, "energy_export_kwh": 300.0}


class RelayConfig(Section):
    """One relay output."""

    pin: BcmPin
    active_high: bool = True
    boot: Literal["off", "on"] = "off"
    label: str | None = None
    building: Ident | None = None
    zone: Ident | None = None


class InputConfig(Section):
    """One digital input: presence (PIR), door/window contact, or meter pulse output."""

    pin: BcmPin
    kind: Literal["motion", "contact", "pulse"]
    pull: Literal["up", "down", "none"] = "down"
    active_high: bool = True
    debounce_ms: Annotated[float, Field(ge=0, le=10_000, allow_inf_nan=False)] = 0.0
    label: str | None = None
    building: Ident | None = None
    zone: Ident | None = None
    circuit: Ident | None = None
    #: pulse inputs: what one pulse counts (e.g. 0.001 m³ of water) and the field name
    quantity: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")] | None = None
    scale: Annotated[float, Field(ge=PULSE_SCALE_RANGE[0], le=PULSE_SCALE_RANGE[1], allow_inf_nan=False)] = 1.0
    #: pulse inputs: the most the quantity may rise in an hour (faster pulses are implausible)
    rise_per_hour: Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _pulse_fields(self) -> InputConfig:
        if self.kind == "pulse" and self.quantity is None:
            raise ValueError("a pulse input needs 'quantity' (e.g. \"water_m3\")")
        if self.kind != "pulse" and self.quantity is not None:
            raise ValueError("'quantity' only applies to kind = \"pulse\"")
        return self

    @property
    def max_rise_per_hour(self) -> float | None:
        """The declared ``rise_per_hour``, or the default of the quantity (``None``: unknown)."""
        if self.kind != "pulse":
            return None
        return self.rise_per_hour or DEFAULT_RISE_PER_HOUR.get(self.quantity or "")

    @property
    def max_pulse_rate_hz(self) -> float | None:
        """The most pulses a second this input may plausibly give (``None``: not a pulse input)."""
        rise = self.max_rise_per_hour
        return None if rise is None else rise / self.scale / 3600.0


class GpioSection(Section):
    """Relays and inputs, by name (the names the rules refer to)."""

    relays: dict[Ident, RelayConfig] = Field(default_factory=dict)
    inputs: dict[Ident, InputConfig] = Field(default_factory=dict)


def _references(config: GatewayConfig) -> list[tuple[str, str, str]]:
    """``(path, name, "relay" | "input")`` for every GPIO name the rules' configuration uses."""
    refs: list[tuple[str, str, str]] = []
    for bid, zid, _building, _zone, heating in heated_zones(config.buildings):
        base = f"buildings.{bid}.zones.{zid}.heating"
        if heating.relay:
            refs.append((f"{base}.relay", heating.relay, "relay"))
        if heating.pilot_wire:
            refs.append((f"{base}.pilot_wire.plus", heating.pilot_wire.plus, "relay"))
            refs.append((f"{base}.pilot_wire.minus", heating.pilot_wire.minus, "relay"))
        for i, name in enumerate(heating.window.contacts):
            refs.append((f"{base}.window.contacts[{i}]", name, "input"))
        for i, name in enumerate(heating.presence.inputs):
            refs.append((f"{base}.presence.inputs[{i}]", name, "input"))
    for cid, circuit in config.lighting.circuits.items():
        refs.append((f"lighting.circuits.{cid}.relay", circuit.relay, "relay"))
        for i, name in enumerate(circuit.presence):
            refs.append((f"lighting.circuits.{cid}.presence[{i}]", name, "input"))
    for mid, meter in config.leaks.meters.items():
        if meter.valve_relay:
            refs.append((f"leaks.meters.{mid}.valve_relay", meter.valve_relay, "relay"))
    return refs


def _unique(gpio: GpioSection) -> list[tuple[str, str]]:
    """Each pin used once; no name both a relay and an input."""
    problems: list[tuple[str, str]] = []
    pins: dict[int, str] = {}
    for kind, table in (("relays", gpio.relays), ("inputs", gpio.inputs)):
        for name, item in table.items():
            here = f"gpio.{kind}.{name}"
            other = pins.setdefault(item.pin, here)
            if other != here:
                problems.append((f"{here}.pin", f"pin {item.pin} is already used by {other}"))
    for name in sorted(set(gpio.relays) & set(gpio.inputs)):
        problems.append((f"gpio.inputs.{name}", f"{name!r} is already the name of a relay (gpio.relays.{name})"))
    return problems


def _pulse_rates(gpio: GpioSection) -> list[tuple[str, str]]:
    """Each pulse input has a plausible rate, and a debounce that lets pulses at that rate through."""
    problems: list[tuple[str, str]] = []
    for name, item in gpio.inputs.items():
        base = f"gpio.inputs.{name}"
        if item.kind != "pulse":
            if item.rise_per_hour is not None:
                problems.append((f"{base}.rise_per_hour", 'only applies to kind = "pulse"'))
            continue
        rate = item.max_pulse_rate_hz
        if rate is None:
            known = ", ".join(sorted(DEFAULT_RISE_PER_HOUR))
            reason = (
                f"required for quantity {item.quantity!r}: the most it may rise in an hour, in its unit "
                f"(pulses faster than that are implausible; defaults exist for {known})"
            )
            problems.append((f"{base}.rise_per_hour", reason))
            continue
        # a pulse is two edges, each at least debounce_ms after the previous accepted one
        if item.debounce_ms > 0 and rate * 2 * item.debounce_ms / 1000.0 > 1.0 + 1e-9:
            most = 1000.0 / (2 * item.debounce_ms)
            reason = (
                f"{item.debounce_ms:g} ms ignores pulses coming faster than {most:g} per second, but "
                f"rise_per_hour = {item.max_rise_per_hour:g} at scale {item.scale:g} means up to {rate:.3g} per "
                f"second: at full rate pulses would be lost as bounces (at most {500.0 / rate:.3g} ms, "
                "or a lower rise_per_hour)"
            )
            problems.append((f"{base}.debounce_ms", reason))
    return problems


#: the kinds of input each use accepts (matched on the reference's path), and what to say otherwise
_INPUT_KINDS = (
    (".heating.presence.", ("motion", "contact"), 'zone presence needs kind = "motion" (PIR) or "contact" (door)'),
    ("presence", ("motion",), 'presence needs kind = "motion"'),
    ("contacts", ("contact",), 'a window needs kind = "contact"'),
)


def _input_kinds(config: GatewayConfig) -> list[tuple[str, str]]:
    """Each input the rules name is of a kind its use accepts (a meter's pulses are not people)."""
    problems: list[tuple[str, str]] = []
    for path, name, wanted in _references(config):
        spec = config.gpio.inputs.get(name) if wanted == "input" else None
        if spec is None:
            continue
        for marker, kinds, need in _INPUT_KINDS:
            if marker in path:
                if spec.kind not in kinds:
                    problems.append((path, f"input {name!r} is a {spec.kind}, {need}"))
                break
    return problems


def cross_check(config: GatewayConfig) -> list[tuple[str, str]]:
    """Pins used once, names unique; relays and inputs the rules name exist, in known buildings and zones;
    pulse inputs have a plausible rate their debounce lets through."""
    problems: list[tuple[str, str]] = []
    gpio = config.gpio
    buildings = config.buildings
    problems.extend(_unique(gpio))
    problems.extend(_pulse_rates(gpio))
    for kind, table in (("relays", gpio.relays), ("inputs", gpio.inputs)):
        for name, item in table.items():
            base = f"gpio.{kind}.{name}"
            if item.building is not None and item.building not in buildings:
                problems.append((f"{base}.building", f"unknown building {item.building!r}"))
            elif item.zone is not None:
                if item.building is None:
                    problems.append((f"{base}.zone", "a zone needs its building"))
                elif item.zone not in buildings[item.building].zones:
                    problems.append((f"{base}.zone", f"unknown zone {item.zone!r} in {item.building!r}"))
    wanted_kind: dict[str, set[str]] = {"relay": set(gpio.relays), "input": set(gpio.inputs)}
    for path, name, wanted in _references(config):
        if name not in wanted_kind[wanted]:
            other = "input" if wanted == "relay" else "relay"
            hint = f" (it is {'an input' if other == 'input' else 'a relay'})" if name in wanted_kind[other] else ""
            problems.append((path, f"no {wanted} {name!r} in [gpio.{wanted}s]{hint}"))
    problems.extend(_input_kinds(config))
    return problems
