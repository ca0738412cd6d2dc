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

import re
from datetime import date, time
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

Ident = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
#: A zone reference ``"building/zone"`` (the key of a zone everywhere in rules/).
ZoneRef = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}/[a-z0-9][a-z0-9_-]{0,62}$")]

Mode = Literal["confort", "reduit", "hors_gel", "arret"]
#: The four modes from warmest to coldest (décret 2023-444: confort / réduit / hors-gel / arrêt).
MODES: tuple[Mode, ...] = ("confort", "reduit", "hors_gel", "arret")

DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {
    "lun": "mon",
    "mar": "tue",
    "mer": "wed",
    "jeu": "thu",
    "ven": "fri",
    "sam": "sat",
    "dim": "sun",
}
_DAY_GROUPS = {"daily": "mon-sun", "weekdays": "mon-fri", "weekend": "sat-sun"}
_CLOCK = re.compile(r"^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$")


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _clock_in(value: Any) -> Any:
    if isinstance(value, time):
        if value.second or value.microsecond:
            raise ValueError("times of day are whole minutes (HH:MM)")
        return f"{value.hour:02d}:{value.minute:02d}"
    return value


def _clock_check(value: str) -> str:
    if not _CLOCK.match(value):
        raise ValueError(f"{value!r} is not a time of day HH:MM (00:00 to 24:00)")
    return value


#: A time of day ``"HH:MM"`` (local time of the site).
ClockTime = Annotated[str, BeforeValidator(_clock_in), AfterValidator(_clock_check)]


def minutes_of(clock: str) -> int:
    """``"07:30"`` -> 450 minutes after midnight."""
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def parse_days(value: Any) -> tuple[int, ...]:
    """``"mon-fri"``, ``"tue,thu,sat"``, ``["sat", "sun"]``, ``"daily"``, French ``"lun-ven"`` -> (0..6)."""
    parts = value if isinstance(value, list | tuple) else str(value).split(",")
    out: set[int] = set()
    for raw in parts:
        token = _DAY_GROUPS.get(str(raw).strip().lower(), str(raw).strip().lower())
        ends = [_DAY_ALIASES.get(t.strip(), t.strip()) for t in token.split("-")]
        if len(ends) > 2 or any(e not in DAY_NAMES for e in ends):
            raise ValueError(f"unknown day {raw!r}; use mon..sun (or lun..dim), ranges like mon-fri, 'daily'")
        first, last = DAY_NAMES.index(ends[0]), DAY_NAMES.index(ends[-1])
        span = range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        out.update(span)
    if not out:
        raise ValueError("at least one day is needed")
    return tuple(sorted(out))


Days = Annotated[tuple[int, ...], BeforeValidator(parse_days)]


class Window(_Rules):
    """A daily window of local time; ``end`` before ``start`` crosses midnight (23:00–05:00)."""

    start: ClockTime
    end: ClockTime

    def contains(self, minute_of_day: int) -> bool:
        """Whether a local minute of the day falls in ``[start, end)``."""
        s, e = minutes_of(self.start), minutes_of(self.end)
        if s == e:
            return False
        if s < e:
            return s <= minute_of_day < e
        return minute_of_day >= s or minute_of_day < e


# ---- heating -----------------------------------------------------------------------------------------------


class Setpoints(_Rules):
    """Target temperature of each mode (°C). ``arret`` has none: the heater stays off."""

    confort: Annotated[float, Field(ge=5, le=26)] = 19.0  # R241-26: at most 19 °C occupied
    reduit: Annotated[float, Field(ge=5, le=26)] = 16.0  # R241-27: 16 °C unoccupied 24–48 h
    hors_gel: Annotated[float, Field(ge=3, le=15)] = 8.0  # R241-27: 8 °C unoccupied > 48 h

    @model_validator(mode="after")
    def _ordered(self) -> Setpoints:
        if not self.confort >= self.reduit >= self.hors_gel:
            raise ValueError("setpoints must satisfy confort >= reduit >= hors_gel")
        return self

    def of(self, mode: Mode) -> float | None:
        """The target of ``mode`` (``None`` for ``arret``)."""
        return None if mode == "arret" else float(getattr(self, mode))

    def mode_for(self, setpoint_c: float) -> Mode:
        """The warmest mode whose setpoint is at most ``setpoint_c`` (hors-gel below that).

        A booking at a temperature counts as occupied when it reaches confort, and a pilot-wire
        zone (whose convectors regulate themselves) gets this order: never warmer than asked.
        """
        if setpoint_c >= self.confort:
            return "confort"
        if setpoint_c >= self.reduit:
            return "reduit"
        return "hors_gel"


class Slot(_Rules):
    """One line of a weekly schedule: on these days, from start to end, this mode.

    ``end`` at or before ``start`` runs past midnight into the next day. Time not covered by a
    slot is *unoccupied* and gets the mode of :class:`Unoccupied` (by the length of the gap).
    """

    days: Days
    start: ClockTime
    end: ClockTime
    mode: Mode = "confort"
    label: str = ""


class Period(_Rules):
    """A dated exception (inclusive dates): school holidays, a closure, a special week.

    During the period the zone follows ``schedule`` instead of its weekly one (empty = closed).
    """

    name: str = Field(min_length=1)
    start: date
    end: date
    schedule: tuple[Slot, ...] = ()

    @model_validator(mode="after")
    def _order(self) -> Period:
        if self.end < self.start:
            raise ValueError(f"period {self.name!r} ends ({self.end}) before it starts ({self.start})")
        return self


class Unoccupied(_Rules):
    """The mode of an unoccupied gap, by the gap's whole length (R241-27 gives 16 °C / 8 °C maxima)."""

    under_24h: Mode = "reduit"  # nights between two working days (plan de sobriété 2022: 16 °C)
    from_24h: Mode = "reduit"  # 24–48 h: at most 16 °C
    over_48h: Mode = "hors_gel"  # > 48 h: at most 8 °C


class PilotWire(_Rules):
    """A fil pilote output made of two relays with diodes (docs/rules.md has the wiring).

    ``plus`` passes the positive half-wave, ``minus`` the negative one. Orders: confort = none,
    eco = both, hors-gel = minus only, arrêt = plus only.
    """

    plus: Ident
    minus: Ident

    @model_validator(mode="after")
    def _distinct(self) -> PilotWire:
        if self.plus == self.minus:
            raise ValueError("pilot_wire needs two different relays (plus and minus)")
        return self


class Failsafe(_Rules):
    """What a zone does when its temperature is stale (no fresh finite reading)."""

    stale_after_min: Annotated[float, Field(gt=0, le=240)] = 15.0
    mode: Literal["duty", "off"] = "duty"  # frost-protection duty cycle, or heater off
    duty_on_min: Annotated[float, Field(ge=0, le=60)] = 10.0
    duty_period_min: Annotated[float, Field(gt=0, le=240)] = 60.0

    @model_validator(mode="after")
    def _duty(self) -> Failsafe:
        if self.duty_on_min > self.duty_period_min:
            raise ValueError("failsafe.duty_on_min must not exceed duty_period_min")
        return self


class WindowDetection(_Rules):
    """Heating off for up to ``off_min`` when a window opens (contact or a fast temperature drop)."""

    enabled: bool = True
    drop_c_per_min: Annotated[float, Field(gt=0, le=2)] = 0.05
    over_min: Annotated[float, Field(ge=3, le=30)] = 10.0  # the slope is a regression over this span
    off_min: Annotated[float, Field(gt=0, le=240)] = 30.0
    contacts: tuple[Ident, ...] = ()  # GPIO inputs: active = window open


class OptimumStart(_Rules):
    """Preheat so that confort is reached when occupancy starts (relance optimisée)."""

    enabled: bool = True
    rate_c_per_h: Annotated[float, Field(gt=0, le=20)] = 2.0  # initial warm-up rate before learning
    max_preheat_h: Annotated[float, Field(ge=0, le=48)] = 6.0
    margin: Annotated[float, Field(ge=1, le=3)] = 1.15  # start this much earlier than predicted
    learn: bool = True


class HeatingConfig(_Rules):
    """``[buildings.<b>.zones.<z>.heating]``: how one zone is heated and when."""

    relay: Ident | None = None  # an on/off heater (or contactor) on this [gpio] relay
    pilot_wire: PilotWire | None = None  # or electric convectors driven by fil pilote
    sensors: tuple[Ident, ...] = ()  # devices whose `temperature_c` is averaged
    outdoor_sensor: Ident | None = None  # a device whose `temperature_c` is outdoors (optimum start)
    setpoints: Setpoints = Field(default_factory=Setpoints)
    schedule: tuple[Slot, ...] = ()
    exceptions: tuple[Period, ...] = ()
    public_holidays: Literal["closed", "sunday", "normal"] = "closed"
    unoccupied: Unoccupied = Field(default_factory=Unoccupied)
    cold_tolerance: Annotated[float, Field(ge=0, le=3)] = 0.3  # heat below target - this
    hot_tolerance: Annotated[float, Field(ge=0, le=3)] = 0.3  # stop above target + this
    min_on_min: Annotated[float, Field(ge=0, le=60)] = 3.0
    min_off_min: Annotated[float, Field(ge=0, le=60)] = 3.0
    max_on_h: Annotated[float, Field(gt=0, le=48)] = 8.0  # maximum continuous on time
    #: highest temperature a booking or override may ask for (R241-26: 19 °C in occupied public
    #: buildings); the lowest is the zone's hors-gel setpoint
    max_setpoint_c: Annotated[float, Field(ge=5, le=26)] = 19.0
    max_rise_c_per_h: Annotated[float, Field(gt=0, le=20)] | None = None  # slow warm-up (churches)
    failsafe: Failsafe = Field(default_factory=Failsafe)
    window: WindowDetection = Field(default_factory=WindowDetection)
    optimum_start: OptimumStart = Field(default_factory=OptimumStart)

    @model_validator(mode="after")
    def _one_output(self) -> HeatingConfig:
        if (self.relay is None) == (self.pilot_wire is None):
            raise ValueError('heating needs exactly one output: relay = "<id>" or pilot_wire = {plus, minus}')
        if self.relay is not None and not self.sensors:
            raise ValueError("an on/off heater (relay) needs a temperature sensor (sensors = [...])")
        if self.max_setpoint_c < self.setpoints.hors_gel:
            raise ValueError("max_setpoint_c must not be below the hors_gel setpoint")
        return self

    def setpoint_bounds(self) -> tuple[float, float]:
        """What a booking's setpoint may be: hors-gel .. ``max_setpoint_c`` (°C)."""
        return float(self.setpoints.hors_gel), float(self.max_setpoint_c)

    @property
    def outputs(self) -> tuple[str, ...]:
        """The relay ids this zone drives."""
        if self.pilot_wire is not None:
            return (self.pilot_wire.plus, self.pilot_wire.minus)
        return (self.relay,) if self.relay else ()


# ---- lighting ----------------------------------------------------------------------------------------------


class CircuitConfig(_Rules):
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


class LightingSection(_Rules):
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


class LeakMeter(_Rules):
    """``[leaks.meters.<device>]``: a water meter (its counter ``field`` in m³, cumulative)."""

    field: str = "water_m3"
    nights: Annotated[int, Field(ge=1, le=14)] = 2  # consecutive nights with a non-zero minimum flow
    zero_l: Annotated[float, Field(ge=0, le=100)] = 0.0  # litres in an hour still counted as zero flow
    check_24h: bool = True  # alarm when no hour of the last 24 h has zero flow
    valve_relay: Ident | None = None
    close_valve: bool = False  # close the valve on alarm (until acknowledged)


class LeakSection(_Rules):
    """``[leaks]``: night window and water meters."""

    night: Window = Field(default_factory=lambda: Window(start="01:00", end="05:00"))
    meters: dict[Ident, LeakMeter] = Field(default_factory=dict)


# ---- the site as the rules see it --------------------------------------------------------------------------


class ZoneSpec(_Rules):
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


class Site(_Rules):
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
