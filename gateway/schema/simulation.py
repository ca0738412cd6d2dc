"""``[simulation]``: the simulated village used by ``village-gateway simulate`` and the demo.

Rules of this section:
- thermal parameters per heated zone (``[simulation.zones."building/zone"]``), in kWh/K and kW;
- dated things (outages, outdoor offsets, bookings) are TOML local date-times in the site's time zone;
- the seed makes every run reproducible (weather and sensor noise).

Example::

    [simulation]
    seed = 7
    start = 2026-01-12
    [simulation.zones."salle/grande_salle"]
    heat_capacity_kwh_per_k = 3.2
    loss_kw_per_k = 0.4
    heater_kw = 20.0
    [[simulation.outages]]
    sensor = "salle-t1"
    start = 2026-01-14T19:00:00
    hours = 3
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from gateway.schema.base import Section
from rules.config import Ident, ZoneRef


def _local(value: datetime) -> datetime:
    if value.tzinfo is not None:
        raise ValueError(
            f"{value.isoformat()} has a UTC offset; write the site's local time without one "
            "(e.g. 2026-01-17T14:00:00)"
        )
    return value


#: A TOML local date-time (no offset): simulated events happen in the site's time zone.
LocalDateTime = Annotated[datetime, AfterValidator(_local)]


class ThermalZoneConfig(Section):
    """First-order model of one zone (drivers/sim/thermal.py)."""

    heat_capacity_kwh_per_k: Annotated[float, Field(gt=0, le=1000)]
    loss_kw_per_k: Annotated[float, Field(gt=0, le=100)]
    heater_kw: Annotated[float, Field(ge=0, le=1000)]
    initial_c: Annotated[float, Field(ge=-20, le=35)] = 12.0
    sensor_noise_c: Annotated[float, Field(ge=0, le=2)] = 0.05
    #: pilot-wire zones: the convectors' own eco and hors-gel setpoints (default: the zone's réduit/hors-gel)
    convector_eco_c: Annotated[float, Field(ge=3, le=26)] | None = None
    convector_hors_gel_c: Annotated[float, Field(ge=3, le=15)] = 7.0


class OutdoorConfig(Section):
    """The outdoor temperature profile (drivers/sim/weather.py)."""

    mean_c: Annotated[float, Field(ge=-30, le=30)] = 4.5
    daily_swing_c: Annotated[float, Field(ge=0, le=30)] = 6.5
    day_to_day_c: Annotated[float, Field(ge=0, le=10)] = 2.0
    sensor: Ident | None = None  # the device id the simulated outdoor thermometer reports as


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

    @model_validator(mode="after")
    def _order(self) -> SimBooking:
        if self.end <= self.start:
            raise ValueError("a booking must end after it starts")
        return self


class SimulationSection(Section):
    """Thermal models, outdoor profile, sensor outages, bookings, seed."""

    seed: int = 1
    start: date | None = None  # default first day of `simulate` (a Monday is a good choice)
    tick_s: Annotated[float, Field(ge=5, le=900)] = 60.0
    zones: dict[ZoneRef, ThermalZoneConfig] = Field(default_factory=dict)
    outdoor: OutdoorConfig = Field(default_factory=OutdoorConfig)
    outdoor_offsets: list[OutdoorOffset] = Field(default_factory=list)
    outages: list[Outage] = Field(default_factory=list)
    bookings: list[SimBooking] = Field(default_factory=list)


def cross_check(config: Any) -> list[tuple[str, str]]:
    """Simulated zones must be heated zones; outages must name a zone's sensor."""
    problems: list[tuple[str, str]] = []
    heated = {
        f"{bid}/{zid}": zone.heating
        for bid, building in config.buildings.items()
        for zid, zone in building.zones.items()
        if zone.heating is not None
    }
    sensors = {s for h in heated.values() for s in h.sensors}
    if config.simulation.outdoor.sensor:
        sensors.add(config.simulation.outdoor.sensor)
    for key in config.simulation.zones:
        if key not in heated:
            problems.append((f"simulation.zones.{key}", f"no heated zone {key!r} (building/zone with [heating])"))
    for i, outage in enumerate(config.simulation.outages):
        if outage.sensor not in sensors:
            problems.append((f"simulation.outages[{i}].sensor", f"{outage.sensor!r} is not a zone's sensor"))
    for i, booking in enumerate(config.simulation.bookings):
        if booking.zone not in heated:
            problems.append((f"simulation.bookings[{i}].zone", f"no heated zone {booking.zone!r}"))
    return problems
