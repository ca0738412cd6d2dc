"""``[simulation]``: the simulated village used by ``village-gateway simulate`` and the demo.

Rules of this section:
- each heated zone is described in ``[simulation.zones."building/zone"]`` EITHER by a building
  archetype (``archetype`` + ``floor_area_m2``, any archetype parameter overridden by name; see
  drivers/sim/archetypes/) OR by the one-node shorthand (``heat_capacity_kwh_per_k``,
  ``loss_kw_per_k``, ``heater_kw``: the first version's first-order model). Mixing both is an error;
- dated things (outages, outdoor offsets, bookings, windows, no-shows) are TOML local date-times in
  the site's time zone;
- the seed makes every run reproducible (weather, clouds, no-shows, presence detectors, sensor noise).

Example::

    [simulation]
    seed = 7
    start = 2026-01-12
    outdoor = { preset = "cold", sensor = "exterieur" }
    [simulation.zones."salle/grande_salle"]
    archetype = "salle-des-fetes-1980"
    floor_area_m2 = 300
    infiltration_ach = 0.7          # an override of the archetype's figure
    [[simulation.windows]]
    zone = "salle/grande_salle"
    start = 2026-01-15T19:30:00
    minutes = 20
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationError, model_validator

from gateway.schema.base import Section
from rules.config import Ident, ZoneRef

if TYPE_CHECKING:
    from drivers.sim.zone_params import ZoneParams

# The building models (drivers.sim: archetype tables, weather presets, ~1 MB of RSS) are imported by the
# functions that use them, not here: a configuration without [simulation] zones (a village's daemon)
# never loads them (tests/unit/test_lean_imports.py).


def _local(value: datetime) -> datetime:
    if value.tzinfo is not None:
        raise ValueError(
            f"{value.isoformat()} has a UTC offset; write the site's local time without one (e.g. 2026-01-17T14:00:00)"
        )
    return value


#: A TOML local date-time (no offset): simulated events happen in the site's time zone.
LocalDateTime = Annotated[datetime, AfterValidator(_local)]


#: The one-node shorthand's own keys (``heater_kw`` and ``initial_c`` are common to both forms).
SHORTHAND_KEYS = ("heat_capacity_kwh_per_k", "loss_kw_per_k")
#: Keys of a zone table that are not archetype parameters.
_ZONE_KEYS = frozenset(
    {
        "archetype",
        "floor_area_m2",
        "heat_capacity_kwh_per_k",
        "loss_kw_per_k",
        "heater_kw",
        "initial_c",
        "sensor_noise_c",
        "sensor_lag_min",
        "convector_eco_c",
        "convector_hors_gel_c",
        "people",
        "no_show_pct",
    }
)


class SimZoneConfig(Section):
    """One zone's building model (drivers/sim/zone_model.py) and its occupants."""

    archetype: str | None = None  # a file of drivers/sim/archetypes/ (e.g. "mairie-pierre")
    floor_area_m2: Annotated[float, Field(gt=0, le=50_000)] | None = None
    # the one-node shorthand (first-order model, the first version's meaning)
    heat_capacity_kwh_per_k: Annotated[float, Field(gt=0, le=1000)] | None = None
    loss_kw_per_k: Annotated[float, Field(gt=0, le=100)] | None = None
    # both forms
    heater_kw: Annotated[float, Field(ge=0, le=1000)] | None = None  # archetype: default from its sizing
    initial_c: Annotated[float, Field(ge=-20, le=35)] = 12.0
    sensor_noise_c: Annotated[float, Field(ge=0, le=2)] = 0.05
    #: thermometers' time constant in their case, minutes (default 0: they read the air; BLE ~5–10 min)
    sensor_lag_min: Annotated[float, Field(ge=0, le=60)] | None = None
    #: pilot-wire zones: the convectors' own eco and hors-gel setpoints (default: the zone's réduit/hors-gel)
    convector_eco_c: Annotated[float, Field(ge=3, le=26)] | None = None
    convector_hors_gel_c: Annotated[float, Field(ge=3, le=15)] = 7.0
    people: Annotated[float, Field(ge=0, le=5000)] | None = None  # present while occupied (archetype density)
    no_show_pct: Annotated[float, Field(ge=0, le=100)] = 0.0  # occurrences nobody attends (seeded)
    # overrides of the archetype's parameters (ranges checked against drivers/sim/archetypes)
    height_m: float | None = None
    mass_kj_per_m2k: float | None = None
    mass_area_ratio: float | None = None
    opaque_w_per_m2k: float | None = None
    glazing_ratio: float | None = None
    glazing_u_w_per_m2k: float | None = None
    glazing_g: float | None = None
    glazing_south: float | None = None
    glazing_east: float | None = None
    glazing_west: float | None = None
    glazing_north: float | None = None
    shading_factor: float | None = None
    infiltration_ach: float | None = None
    people_per_m2: float | None = None
    person_w: float | None = None
    vent_m3h_per_person: float | None = None
    internal_w_per_m2: float | None = None
    design_indoor_c: float | None = None
    heater_sizing: float | None = None
    emitter: Literal["convector", "fan_heater", "radiant", "local"] | None = None
    local_kw_per_person: float | None = None
    boost_c: float | None = None
    warm_min: float | None = None
    window_loss_kw_per_k: float | None = None
    emitter_lag_min: float | None = None

    @model_validator(mode="after")
    def _one_form(self) -> SimZoneConfig:
        shorthand = [k for k in SHORTHAND_KEYS if getattr(self, k) is not None]
        if self.archetype is not None:
            if shorthand:
                raise ValueError(
                    f"archetype and the one-node shorthand ({', '.join(shorthand)}) cannot be mixed: choose one"
                )
            if self.floor_area_m2 is None:
                raise ValueError("an archetype zone needs floor_area_m2")
            return self
        missing = [k for k in (*SHORTHAND_KEYS, "heater_kw") if getattr(self, k) is None]
        if len(missing) == 3:
            raise ValueError('say archetype = "..." with floor_area_m2, or the one-node shorthand')
        if missing:
            raise ValueError(f"the one-node shorthand needs {', '.join(missing)}")
        extra = sorted(self.overrides()) + (["floor_area_m2"] if self.floor_area_m2 is not None else [])
        if extra:
            raise ValueError(f"{', '.join(extra)}: only with an archetype (not with the one-node shorthand)")
        return self

    def overrides(self) -> dict[str, Any]:
        """The archetype parameters this zone overrides."""
        return {k: getattr(self, k) for k in self.model_fields_set - _ZONE_KEYS if getattr(self, k) is not None}

    def params(self, *, design_outdoor_c: float = -7.0) -> ZoneParams:
        """The zone model's parameters (:class:`drivers.sim.ArchetypeError` if the figures do not hold)."""
        from drivers.sim import one_node, zone_params
        from drivers.sim.zone_params import SENSOR_LAG_MIN

        if self.archetype is None:
            shorthand = one_node(
                self.heat_capacity_kwh_per_k or 0.0,  # validated: both set in this form
                self.loss_kw_per_k or 0.0,
                self.heater_kw or 0.0,
                initial_c=self.initial_c,
                sensor_noise_c=self.sensor_noise_c,
                people=self.people or 0.0,
            )
            if self.sensor_lag_min:
                return replace(shorthand, sensor_lag_min=self.sensor_lag_min)
            return shorthand
        return zone_params(
            self.archetype,
            self.floor_area_m2 or 0.0,  # validated: set with an archetype
            self.overrides(),
            people=self.people,
            heater_kw=self.heater_kw,
            design_outdoor_c=design_outdoor_c,
            initial_c=self.initial_c,
            sensor_noise_c=self.sensor_noise_c,
            sensor_lag_min=SENSOR_LAG_MIN if self.sensor_lag_min is None else self.sensor_lag_min,
        )


@dataclass(frozen=True, slots=True)
class OutdoorFigures:
    """The outdoor profile once the preset is applied."""

    mean_c: float
    daily_swing_c: float
    day_to_day_c: float
    cloud_cover: float


class OutdoorConfig(Section):
    """The outdoor temperature profile and cloudiness (drivers/sim/weather.py, drivers/sim/solar.py).

    ``preset`` gives every value (``january``: Loire valley normals; ``cold``: a cold spell with nights
    below −5 °C; ``mild``: a mild week); a value given here wins over the preset's."""

    preset: Literal["january", "cold", "mild"] = "january"
    mean_c: Annotated[float, Field(ge=-30, le=30)] | None = None
    daily_swing_c: Annotated[float, Field(ge=0, le=30)] | None = None
    day_to_day_c: Annotated[float, Field(ge=0, le=10)] | None = None
    cloud_cover: Annotated[float, Field(ge=0, le=1)] | None = None  # mean daily cloud fraction
    sensor: Ident | None = None  # the device id the simulated outdoor thermometer reports as

    def figures(self) -> OutdoorFigures:
        """The values in force: the preset's, with what this table sets."""
        from drivers.sim.weather import PRESETS

        preset = PRESETS[self.preset]
        return OutdoorFigures(
            mean_c=preset.mean_c if self.mean_c is None else self.mean_c,
            daily_swing_c=preset.daily_swing_c if self.daily_swing_c is None else self.daily_swing_c,
            day_to_day_c=preset.day_to_day_c if self.day_to_day_c is None else self.day_to_day_c,
            cloud_cover=preset.cloud_cover if self.cloud_cover is None else self.cloud_cover,
        )


class OutdoorOffset(Section):
    """A cold snap or a mild spell: ``delta_c`` added for ``hours`` from ``start``."""

    start: LocalDateTime
    hours: Annotated[float, Field(gt=0, le=24 * 60)]
    delta_c: Annotated[float, Field(ge=-30, le=30)]


class Outage(Section):
    """A sensor that sends nothing for ``hours`` from ``start`` (tests the fail-safe)."""

    sensor: Ident
    start: LocalDateTime
    hours: Annotated[float, Field(gt=0, le=24 * 60)]


class SimBooking(Section):
    """A booking made during the simulated week ("Loto" on Saturday)."""

    zone: ZoneRef
    start: LocalDateTime
    end: LocalDateTime
    mode: Literal["confort", "reduit", "hors_gel", "arret"] = "confort"
    label: str = ""
    setpoint_c: Annotated[float, Field(ge=3, le=26)] | None = None  # a temperature instead of the mode's

    @model_validator(mode="after")
    def _order(self) -> SimBooking:
        if self.end <= self.start:
            raise ValueError("a booking must end after it starts")
        return self


class SimWindow(Section):
    """A window opened in a zone for ``minutes`` from ``start`` (its extra loss acts on the air)."""

    zone: ZoneRef
    start: LocalDateTime
    minutes: Annotated[float, Field(gt=0, le=24 * 60)]
    #: default: the archetype's ``window_loss_kw_per_k`` (one casement window ≈ 0.1–0.3 kW/K)
    extra_loss_kw_per_k: Annotated[float, Field(gt=0, le=20)] | None = None


class NoShow(Section):
    """Nobody comes to the occupied period of ``zone`` that covers ``start``."""

    zone: ZoneRef
    start: LocalDateTime


class SimulationSection(Section):
    """Building models, outdoor profile, sensor outages, bookings, windows, no-shows, seed."""

    seed: int = 1
    start: date | None = None  # default first day of `simulate` (a Monday is a good choice)
    tick_s: Annotated[float, Field(ge=5, le=900)] = 60.0
    design_outdoor_c: Annotated[float, Field(ge=-30, le=10)] = -7.0  # heater sizing (Loire valley: −7 °C)
    zones: dict[ZoneRef, SimZoneConfig] = Field(default_factory=dict)
    outdoor: OutdoorConfig = Field(default_factory=OutdoorConfig)
    outdoor_offsets: list[OutdoorOffset] = Field(default_factory=list)
    outages: list[Outage] = Field(default_factory=list)
    bookings: list[SimBooking] = Field(default_factory=list)
    windows: list[SimWindow] = Field(default_factory=list)
    no_shows: list[NoShow] = Field(default_factory=list)


def _zone_problems(key: str, zone: SimZoneConfig, design_outdoor_c: float) -> list[tuple[str, str]]:
    """An archetype that exists, overrides within its ranges, figures that make a model."""
    base = f"simulation.zones.{key}"
    if zone.archetype is None:
        return []
    from drivers.sim.archetypes import ArchetypeError, ArchetypeParams, archetype_names, load_archetype

    if zone.archetype not in archetype_names():
        known = ", ".join(sorted(archetype_names()))
        return [(f"{base}.archetype", f"unknown archetype {zone.archetype!r}; known: {known}")]
    try:
        ArchetypeParams.model_validate({**load_archetype(zone.archetype).params.model_dump(), **zone.overrides()})
    except ValidationError as exc:
        out = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            out.append((f"{base}.{where}" if where else base, str(error["msg"]).removeprefix("Value error, ")))
        return out
    try:
        zone.params(design_outdoor_c=design_outdoor_c)
    except (ArchetypeError, ValueError) as exc:
        return [(base, str(exc))]
    return []


def cross_check(config: Any) -> list[tuple[str, str]]:
    """Simulated zones must be heated zones with a valid model; dated entries must name them."""
    sim = config.simulation
    problems: list[tuple[str, str]] = []
    heated = {
        f"{bid}/{zid}": zone.heating
        for bid, building in config.buildings.items()
        for zid, zone in building.zones.items()
        if zone.heating is not None
    }
    sensors = {s for h in heated.values() for s in h.sensors}
    if sim.outdoor.sensor:
        sensors.add(sim.outdoor.sensor)
    for key, zone in sim.zones.items():
        if key not in heated:
            problems.append((f"simulation.zones.{key}", f"no heated zone {key!r} (building/zone with [heating])"))
        problems.extend(_zone_problems(key, zone, sim.design_outdoor_c))
    for i, outage in enumerate(sim.outages):
        if outage.sensor not in sensors:
            problems.append((f"simulation.outages[{i}].sensor", f"{outage.sensor!r} is not a zone's sensor"))
    for name, entries in (("bookings", sim.bookings), ("windows", sim.windows), ("no_shows", sim.no_shows)):
        for i, entry in enumerate(entries):
            if entry.zone not in heated:
                problems.append((f"simulation.{name}[{i}].zone", f"no heated zone {entry.zone!r}"))
    return problems
