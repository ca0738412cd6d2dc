"""``[gpio]``: relays and inputs on the Pi's header (issue 3).

Rules of this section:
- every relay declares its boot state (``boot = "off"`` unless said otherwise) and polarity
  (``active_high``; most cheap opto-isolated relay boards are active-low);
- a pin is used once; a relay or input named by the rules (heating, pilot wire, lighting,
  valve, presence, window contact) must exist here, with the right kind (:func:`cross_check`);
- an input belongs to a building and a zone (heating: window contact) or a lighting circuit
  (presence).

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
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, model_validator

from gateway.schema.base import Ident, Section

if TYPE_CHECKING:
    from gateway.config import GatewayConfig

#: BCM GPIO numbers of the 40-pin header (0 and 1 are the HAT EEPROM bus: refused).
BcmPin = Annotated[int, Field(ge=2, le=27)]


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
    debounce_ms: Annotated[float, Field(ge=0, le=10_000)] = 0.0
    label: str | None = None
    building: Ident | None = None
    zone: Ident | None = None
    circuit: Ident | None = None
    #: pulse inputs: what one pulse counts (e.g. 0.001 m³ of water) and the field name
    quantity: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")] | None = None
    scale: Annotated[float, Field(gt=0)] = 1.0

    @model_validator(mode="after")
    def _pulse_fields(self) -> InputConfig:
        if self.kind == "pulse" and self.quantity is None:
            raise ValueError("a pulse input needs 'quantity' (e.g. \"water_m3\")")
        if self.kind != "pulse" and self.quantity is not None:
            raise ValueError("'quantity' only applies to kind = \"pulse\"")
        return self


class GpioSection(Section):
    """Relays and inputs, by name (the names the rules refer to)."""

    relays: dict[Ident, RelayConfig] = Field(default_factory=dict)
    inputs: dict[Ident, InputConfig] = Field(default_factory=dict)


def _references(config: GatewayConfig) -> list[tuple[str, str, str]]:
    """``(path, name, "relay" | "input")`` for every GPIO name the rules' configuration uses."""
    refs: list[tuple[str, str, str]] = []
    for bid, building in config.buildings.items():
        for zid, zone in building.zones.items():
            heating = zone.heating
            if heating is None:
                continue
            base = f"buildings.{bid}.zones.{zid}.heating"
            if heating.relay:
                refs.append((f"{base}.relay", heating.relay, "relay"))
            if heating.pilot_wire:
                refs.append((f"{base}.pilot_wire.plus", heating.pilot_wire.plus, "relay"))
                refs.append((f"{base}.pilot_wire.minus", heating.pilot_wire.minus, "relay"))
            for i, name in enumerate(heating.window.contacts):
                refs.append((f"{base}.window.contacts[{i}]", name, "input"))
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


def cross_check(config: GatewayConfig) -> list[tuple[str, str]]:
    """Pins used once, names unique; relays and inputs the rules name exist, in known buildings and zones."""
    problems: list[tuple[str, str]] = []
    gpio = config.gpio
    buildings = config.buildings
    problems.extend(_unique(gpio))
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
            hint = f" (it is an {other})" if name in wanted_kind[other] else ""
            problems.append((path, f"no {wanted} {name!r} in [gpio.{wanted}s]{hint}"))
    for path, name, wanted in _references(config):
        spec = gpio.inputs.get(name) if wanted == "input" else None
        if spec is not None and "presence" in path and spec.kind != "motion":
            problems.append((path, f'input {name!r} is a {spec.kind}, presence needs kind = "motion"'))
        if spec is not None and "contacts" in path and spec.kind != "contact":
            problems.append((path, f'input {name!r} is a {spec.kind}, a window needs kind = "contact"'))
    return problems
