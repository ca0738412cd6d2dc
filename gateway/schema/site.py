"""``[site]`` and ``[buildings.<id>]`` / ``[buildings.<id>.zones.<id>]``: where things are."""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from gateway.schema.base import Ident, Section
from gateway.schema.zone_prior import with_prior
from rules.config import HeatingConfig


class SiteConfig(Section):
    """The village: its identifier (the ``site`` tag of every point) and where it is."""

    id: Ident
    name: str = Field(min_length=1)
    timezone: str = "Europe/Paris"
    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=180)]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (expected e.g. 'Europe/Paris')") from exc
        return value


class ZoneConfig(Section):
    """A functional zone of a building (a room or group of rooms heated together)."""

    name: str = Field(min_length=1)
    heating: HeatingConfig | None = None

    @field_validator("heating")
    @classmethod
    def _prior(cls, value: HeatingConfig | None) -> HeatingConfig | None:
        """The zone's declared building (``heating.model.archetype``) gives the rules' model its start."""
        return None if value is None else with_prior(value)


class BuildingConfig(Section):
    """A public building: mairie, school, village hall, church."""

    name: str = Field(min_length=1)
    kind: Literal["mairie", "school", "hall", "church", "gym", "other"] = "other"
    zones: dict[Ident, ZoneConfig] = Field(default_factory=dict)
