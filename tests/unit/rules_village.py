"""A small village for the rules tests: one hall on a relay, one school on pilot wire, one circuit.

Builders only (no test here): ``site()``, ``at(...)`` for local times, ``state(...)``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from rules.config import CircuitConfig, HeatingConfig, LeakMeter, LeakSection, LightingSection, Site, ZoneSpec
from rules.schedule import to_ns
from rules.types import Booking, InputState, LightOverride, Memory, RelayState, SensorValue, State

PARIS = ZoneInfo("Europe/Paris")
NS = 1_000_000_000
MIN = 60 * NS
HOUR = 60 * MIN

HALL = "salle/grande_salle"
SCHOOL = "ecole/classes"


def hall_heating(**changes: Any) -> HeatingConfig:
    """The village hall: a relay heater, one thermometer, three evenings a week."""
    base: dict[str, Any] = {
        "relay": "salle-chauffage",
        "sensors": ["salle-t1"],
        "schedule": [
            {"days": "tue", "start": "18:30", "end": "22:30", "label": "Gym"},
            {"days": "thu", "start": "18:30", "end": "22:30"},
            {"days": "fri", "start": "19:00", "end": "23:00"},
        ],
        "window": {"contacts": ["salle-fenetre"], "off_min": 30},
    }
    base.update(changes)
    return HeatingConfig.model_validate(base)


def school_heating(**changes: Any) -> HeatingConfig:
    base: dict[str, Any] = {
        "pilot_wire": {"plus": "ecole-fp-plus", "minus": "ecole-fp-minus"},
        "sensors": ["ecole-t1"],
        "schedule": [{"days": "mon,tue,thu,fri", "start": "08:30", "end": "16:30"}],
    }
    base.update(changes)
    return HeatingConfig.model_validate(base)


def _zone(key: str, name: str, building_name: str, heating: HeatingConfig) -> ZoneSpec:
    """Zone ``key`` (``building/zone``) as the rules see it."""
    building, zone = key.split("/")
    return ZoneSpec(key=key, building=building, zone=zone, name=name, building_name=building_name, heating=heating)


def site(hall: HeatingConfig | None = None, school: HeatingConfig | None = None, **changes: Any) -> Site:
    zones = (
        _zone(HALL, "Grande salle", "Salle des fêtes", hall or hall_heating()),
        _zone(SCHOOL, "Classes", "École", school or school_heating()),
    )
    fields: dict[str, Any] = {
        "id": "saint-martin",
        "name": "Saint-Martin",
        "latitude": 47.39,
        "longitude": 0.98,
        "zones": zones,
        "lighting": LightingSection(
            circuits={
                "place": CircuitConfig(relay="place-eclairage", name="Place", presence=["place-pir"]),
                "parvis": CircuitConfig(relay="salle-parvis", occupancy=[HALL], after_occupancy_min=60),
            }
        ),
        "leaks": LeakSection(meters={"ecole-eau": LeakMeter(valve_relay="ecole-vanne", close_valve=True)}),
    }
    fields.update(changes)
    return Site(**fields)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A local Paris wall-clock time as an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def ns(moment: datetime) -> int:
    return to_ns(moment)


def state(
    now: datetime,
    *,
    hall_c: float | None = 17.0,
    school_c: float | None = 17.0,
    age_min: float = 1.0,
    relays: dict[str, RelayState] | None = None,
    inputs: dict[str, InputState] | None = None,
    bookings: tuple[Booking, ...] = (),
    light_overrides: tuple[LightOverride, ...] = (),
    memory: Memory | None = None,
    extra: dict[tuple[str, str], SensorValue] | None = None,
) -> State:
    """Readings ``age_min`` old, relays off for a day unless given."""
    t = ns(now) - int(age_min * MIN)
    readings: dict[tuple[str, str], SensorValue] = {}
    if hall_c is not None:
        readings[("salle-t1", "temperature_c")] = SensorValue(hall_c, t)
    if school_c is not None:
        readings[("ecole-t1", "temperature_c")] = SensorValue(school_c, t)
    readings.update(extra or {})
    default = {
        r: RelayState(False, ns(now) - 24 * HOUR) for r in ("salle-chauffage", "ecole-fp-plus", "ecole-fp-minus")
    }
    default.update(relays or {})
    return State(
        readings=MappingProxyType(readings),
        inputs=MappingProxyType(inputs or {}),
        relays=MappingProxyType(default),
        bookings=bookings,
        light_overrides=light_overrides,
        memory=memory or Memory(),
    )
