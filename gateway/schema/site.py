"""``[site]`` and ``[buildings.<id>]`` / ``[buildings.<id>.zones.<id>]``: where things are."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from gateway.schema.base import Ident, Section
from gateway.schema.zone_prior import with_prior
from rules.config import HeatingConfig

#: What an IANA time zone name looks like ("Europe/Paris", "America/Argentina/Buenos_Aires", "UTC").
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]{0,30}(/[A-Za-z0-9_+-]{1,30}){0,3}$")


class SiteConfig(Section):
    """The village: its identifier (the ``site`` tag of every point) and where it is."""

    id: Ident
    name: str = Field(min_length=1)
    timezone: str = "Europe/Paris"
    holidays: Literal["france", "alsace-moselle"] = Field(
        default="france",
        description="public holidays: metropolitan France, or Alsace-Moselle (adds Good Friday and 26 December)",
    )
    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=180)]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        unknown = f"unknown time zone {value[:80]!r} (expected an IANA name, e.g. 'Europe/Paris')"
        if not _ZONE_NAME.fullmatch(value):  # not a file name under the zoneinfo directory
            raise ValueError(unknown)
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a name the file system refuses
            raise ValueError(unknown) from exc
        return value


class ZoneConfig(Section):
    """A functional zone of a building (a room or group of rooms heated together)."""

    name: str = Field(min_length=1)
    heating: HeatingConfig | None = None
    public: bool = False  # the zone's name may appear on the public page (its building must be public)

    @field_validator("heating")
    @classmethod
    def _prior(cls, value: HeatingConfig | None) -> HeatingConfig | None:
        """The zone's declared building (``heating.model.archetype``) gives the rules' model its start."""
        return None if value is None else with_prior(value)


class BuildingConfig(Section):
    """A public building: mairie, school, village hall, church."""

    name: str = Field(min_length=1)
    kind: Literal["mairie", "school", "hall", "church", "gym", "other"] = "other"
    public: bool = False  # shown on the public page ([web] public_page): aggregates only, never zone names
    floor_area_m2: Annotated[float, Field(gt=0, le=1_000_000)] | None = None  # kWh/m² in reports (OPERAT)
    zones: dict[Ident, ZoneConfig] = Field(default_factory=dict)


class HeatedZone(NamedTuple):
    """A zone with a ``heating`` table, with its building and their ids."""

    building_id: str
    zone_id: str
    building: BuildingConfig
    zone: ZoneConfig
    heating: HeatingConfig


def heated_zones(buildings: Mapping[str, BuildingConfig]) -> Iterator[HeatedZone]:
    """Every heated zone of ``buildings``, in the configuration's order."""
    for bid, building in buildings.items():
        for zid, zone in building.zones.items():
            if zone.heating is not None:
                yield HeatedZone(bid, zid, building, zone, zone.heating)


def cross_check(config: Any) -> list[tuple[str, str]]:
    """A public zone only in a public building (its name would otherwise be the only thing shown)."""
    return [
        (f"buildings.{bid}.zones.{zid}.public", f"zone {zid!r} is public but building {bid!r} is not")
        for bid, building in config.buildings.items()
        for zid, zone in building.zones.items()
        if zone.public and not building.public
    ]
