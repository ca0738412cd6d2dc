"""Configuration of the rules (heating, lighting, leaks) as frozen, validated data.

Rules of this module:
- pure data: pydantic models, frozen, unknown keys rejected; nothing here reads a file or the clock;
- it imports only the standard library and pydantic (``gateway.config`` composes these models);
- defaults encode French rules (docs/rules.md cites them): 19 °C occupied (Code de l'énergie
  R241-26), 16 °C unoccupied 24–48 h and 8 °C beyond 48 h (R241-27); lighting off one hour after
  the end of occupancy (arrêté of 27 December 2018);
- times of day are ``"HH:MM"`` in the site's time zone (``"24:00"`` is allowed as an end);
  TOML local times (``07:30:00``) are accepted too.

Example (one zone's heating, in TOML)::

    [buildings.salle.zones.grande_salle.heating]
    relay = "salle-chauffage"            # or pilot_wire = { plus = "...", minus = "..." }
    sensors = ["salle-thermo"]
    schedule = [{ days = "tue,thu,sat", start = "18:00", end = "23:00" }]
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from rules.heating_config import (
    Failsafe,
    HeatingConfig,
    OptimumStart,
    Period,
    PilotWire,
    Setpoints,
    Slot,
    Unoccupied,
    WindowDetection,
)
from rules.vocab import (
    DAY_NAMES,
    MODES,
    ClockTime,
    Days,
    Ident,
    Mode,
    Rules,
    Window,
    ZoneRef,
    minutes_of,
    parse_days,
)

__all__ = [
    "DAY_NAMES",
    "MODES",
    "CircuitConfig",
    "ClockTime",
    "Days",
    "Failsafe",
    "HeatingConfig",
    "Ident",
    "LeakMeter",
    "LeakSection",
    "LightingSection",
    "Mode",
    "OptimumStart",
    "Period",
    "PilotWire",
    "Setpoints",
    "Site",
    "Slot",
    "Unoccupied",
    "Window",
    "WindowDetection",
    "ZoneRef",
    "ZoneSpec",
    "cross_check",
    "minutes_of",
    "parse_days",
    "site_from_config",
]


# ---- lighting ----------------------------------------------------------------------------------------------


class CircuitConfig(Rules):
    """``[lighting.circuits.<id>]``: one lighting circuit on one relay.

    On between sunset + ``sunset_offset_min`` and sunrise − ``sunrise_offset_min``, except in the night
    cut window; presence inputs keep it on for ``presence_hold_min`` (also inside the cut if
    ``presence_in_night_cut``); with ``occupancy`` zones, it is on only while one of them is occupied
    and until ``after_occupancy_min`` after (arrêté of 27 December 2018: one hour).
    """

    name: str = ""
    relay: Ident
    kind: Literal["street", "facade", "interior", "car_park", "other"] = "other"
    dusk_to_dawn: bool = True
    sunset_offset_min: Annotated[float, Field(ge=-180, le=180)] = 0.0
    sunrise_offset_min: Annotated[float, Field(ge=-180, le=180)] = 0.0
    night_cut: Window | Literal["default"] | None = "default"
    presence: tuple[Ident, ...] = ()
    presence_hold_min: Annotated[float, Field(ge=0, le=240)] = 5.0
    presence_in_night_cut: bool = True
    occupancy: tuple[ZoneRef, ...] = ()
    after_occupancy_min: Annotated[float, Field(ge=0, le=240)] = 60.0
    #: a twilight switch (interrupteur crépusculaire) on a GPIO contact input, active when dark:
    #: what the circuit follows while the clock is not trusted (``[service.clock] safe_lighting``)
    dusk_input: Ident | None = None


class LightingSection(Rules):
    """``[lighting]``: the default night cut and the circuits."""

    night_cut: Window | None = Field(default_factory=lambda: Window(start="23:00", end="05:00"))
    circuits: dict[Ident, CircuitConfig] = Field(default_factory=dict)

    def cut_of(self, circuit: CircuitConfig) -> Window | None:
        """The night cut window of a circuit (its own, or the section's default)."""
        if circuit.night_cut == "default":
            return self.night_cut
        if isinstance(circuit.night_cut, Window):
            return circuit.night_cut
        return None


# ---- leaks -------------------------------------------------------------------------------------------------


class LeakMeter(Rules):
    """``[leaks.meters.<device>]``: a water meter (its counter ``field`` in m³, cumulative)."""

    field: str = "water_m3"
    nights: Annotated[int, Field(ge=1, le=14)] = 2  # consecutive nights with a non-zero minimum flow
    zero_l: Annotated[float, Field(ge=0, le=100)] = 0.0  # litres in an hour still counted as zero flow
    check_24h: bool = True  # alarm when no hour of the last 24 h has zero flow
    valve_relay: Ident | None = None
    close_valve: bool = False  # close the valve on alarm (until acknowledged)


class LeakSection(Rules):
    """``[leaks]``: night window and water meters."""

    night: Window = Field(default_factory=lambda: Window(start="01:00", end="05:00"))
    meters: dict[Ident, LeakMeter] = Field(default_factory=dict)


# ---- the site as the rules see it --------------------------------------------------------------------------


class ZoneSpec(Rules):
    """One heated zone: its key ``building/zone``, names and heating configuration."""

    key: ZoneRef
    building: Ident
    zone: Ident
    name: str
    building_name: str = ""
    building_kind: str = "other"
    heating: HeatingConfig

    @property
    def title(self) -> str:
        """How people name the zone: "Salle des fêtes – Grande salle"."""
        if not self.building_name or self.building_name == self.name:
            return self.name
        return f"{self.building_name} – {self.name}"


class Site(Rules):
    """Everything ``decide`` needs to know about the village, extracted from the gateway config."""

    id: Ident
    name: str
    timezone: str = "Europe/Paris"
    #: public holidays: metropolitan France, or Alsace-Moselle (adds Good Friday and 26 December)
    holidays: Literal["france", "alsace-moselle"] = "france"
    latitude: float
    longitude: float
    zones: tuple[ZoneSpec, ...] = ()
    lighting: LightingSection = Field(default_factory=LightingSection)
    leaks: LeakSection = Field(default_factory=LeakSection)
    #: while the clock is not trusted (``[service.clock]``): every zone's mode, and lighting
    #: from each circuit's ``dusk_input`` ("sensor") or off
    clock_safe_heating: Mode = "reduit"
    clock_safe_lighting: Literal["sensor", "off"] = "sensor"

    def zone(self, key: str) -> ZoneSpec | None:
        """The zone ``building/zone``, or ``None``."""
        return next((z for z in self.zones if z.key == key), None)

    def outputs(self) -> dict[str, str]:
        """Every relay the rules drive -> who drives it (``zone:...``, ``light:...``, ``valve:...``)."""
        out: dict[str, str] = {}
        for zone in self.zones:
            for relay in zone.heating.outputs:
                out[relay] = f"zone:{zone.key}"
        for cid, circuit in self.lighting.circuits.items():
            out[circuit.relay] = f"light:{cid}"
        for mid, meter in self.leaks.meters.items():
            if meter.valve_relay:
                out[meter.valve_relay] = f"valve:{mid}"
        return out


def site_from_config(config: Any) -> Site:
    """Build the rules' :class:`Site` from a ``gateway.config.GatewayConfig`` (duck-typed: rules/
    does not import the shell)."""
    zones = tuple(
        ZoneSpec(
            key=f"{bid}/{zid}",
            building=bid,
            zone=zid,
            name=zone.name,
            building_name=building.name,
            building_kind=building.kind,
            heating=zone.heating,
        )
        for bid, building in config.buildings.items()
        for zid, zone in building.zones.items()
        if zone.heating is not None
    )
    site = config.site
    clock = getattr(getattr(config, "service", None), "clock", None)
    safe_heating = SAFE_HEATING.get(str(getattr(clock, "safe_heating", "eco")), "reduit")
    safe_lighting: Literal["sensor", "off"] = "off" if getattr(clock, "safe_lighting", "sensor") == "off" else "sensor"
    return Site(
        id=site.id,
        name=site.name,
        timezone=site.timezone,
        holidays=getattr(site, "holidays", "france"),
        latitude=site.latitude,
        longitude=site.longitude,
        zones=zones,
        lighting=config.lighting,
        leaks=config.leaks,
        clock_safe_heating=safe_heating,
        clock_safe_lighting=safe_lighting,
    )


#: ``[service.clock] safe_heating`` words -> modes.
SAFE_HEATING: dict[str, Mode] = {"confort": "confort", "eco": "reduit", "hors-gel": "hors_gel", "arret": "arret"}


def cross_check(config: Any) -> list[tuple[str, str]]:
    """Rules spanning sections: a relay drives one thing only; occupancy names existing zones."""
    problems: list[tuple[str, str]] = []
    owners: dict[str, str] = {}

    def claim(relay: str, path: str) -> None:
        if relay in owners:
            problems.append((path, f"relay {relay!r} is already driven by {owners[relay]}"))
        else:
            owners[relay] = path

    zone_keys = set()
    for bid, building in config.buildings.items():
        for zid, zone in building.zones.items():
            heating = zone.heating
            if heating is None:
                continue
            zone_keys.add(f"{bid}/{zid}")
            base = f"buildings.{bid}.zones.{zid}.heating"
            if heating.relay:
                claim(heating.relay, f"{base}.relay")
            if heating.pilot_wire:
                claim(heating.pilot_wire.plus, f"{base}.pilot_wire.plus")
                claim(heating.pilot_wire.minus, f"{base}.pilot_wire.minus")
    inputs = getattr(getattr(config, "gpio", None), "inputs", {})
    for cid, circuit in config.lighting.circuits.items():
        claim(circuit.relay, f"lighting.circuits.{cid}.relay")
        if circuit.dusk_input is not None:
            spec = inputs.get(circuit.dusk_input)
            if spec is None or spec.kind != "contact":
                path = f"lighting.circuits.{cid}.dusk_input"
                problems.append((path, f"{circuit.dusk_input!r} is not a [gpio.inputs] contact (a twilight switch)"))
        for i, ref in enumerate(circuit.occupancy):
            if ref not in zone_keys:
                path = f"lighting.circuits.{cid}.occupancy[{i}]"
                problems.append((path, f"no heated zone {ref!r} (building/zone with a schedule)"))
    for mid, meter in config.leaks.meters.items():
        if meter.valve_relay:
            claim(meter.valve_relay, f"leaks.meters.{mid}.valve_relay")
    return problems
