"""Building archetypes as data: ``drivers/sim/archetypes/<name>.toml``, validated on load.

Rules of this package:
- an archetype file gives a building type's per-m² figures (:class:`ArchetypeParams`), its sources
  and a note on the ranges met in practice; a bad file is an :class:`ArchetypeError` naming the file
  and the field, never a crash in the middle of a simulation;
- :func:`zone_params` turns (archetype, floor area, overrides) into the model's
  :class:`~drivers.sim.zone_params.ZoneParams`; overrides are validated like the file (same ranges);
- no side effects on import: files are read on first use and cached (they are immutable).

Example::

    >>> p = zone_params("mairie-pierre", 120.0)
    >>> 20 < p.time_constant_h < 60
    True
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from drivers.sim.zone_params import SENSOR_LAG_MIN, Figures, ZoneParams, derive

Fraction = Annotated[float, Field(ge=0, le=1)]


class ArchetypeError(ValueError):
    """An archetype file (or a zone's override of it) is not valid: says which and why."""


class ArchetypeParams(BaseModel):
    """Per-m² figures of a building type (units in the names; "per m²" is per m² of floor)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    height_m: Annotated[float, Field(ge=2, le=30)]  # mean ceiling height (volume = area × height)
    mass_kj_per_m2k: Annotated[float, Field(ge=20, le=3000)]  # structure's heat capacity (ISO 13790 classes)
    mass_area_ratio: Annotated[float, Field(ge=1, le=8)]  # A_m / A_f (ISO 13790 Table 12)
    opaque_w_per_m2k: Annotated[float, Field(ge=0, le=10)]  # opaque envelope H_op per m² of floor
    glazing_ratio: Annotated[float, Field(ge=0, le=1)]  # glazed area / floor area
    glazing_u_w_per_m2k: Annotated[float, Field(ge=0.5, le=6)]
    glazing_g: Annotated[float, Field(ge=0.1, le=0.9)]  # solar factor at normal incidence g_n
    glazing_south: Fraction = 0.25  # share of the glazing on each façade (sum 1)
    glazing_east: Fraction = 0.25
    glazing_west: Fraction = 0.25
    glazing_north: Fraction = 0.25
    shading_factor: Fraction = 0.7  # neighbours, trees, reveals, curtains
    infiltration_ach: Annotated[float, Field(ge=0, le=5)]  # air changes per hour, always
    people_per_m2: Annotated[float, Field(ge=0, le=2)]  # default occupants while occupied
    person_w: Annotated[float, Field(ge=0, le=300)] = 75.0  # sensible heat per person
    vent_m3h_per_person: Annotated[float, Field(ge=0, le=60)]  # hygienic flow while occupied
    internal_w_per_m2: Annotated[float, Field(ge=0, le=50)]  # lighting and equipment while occupied
    design_indoor_c: Annotated[float, Field(ge=5, le=22)] = 19.0
    heater_sizing: Annotated[float, Field(ge=0.5, le=3)] = 1.3  # installed power / design load
    emitter: Literal["convector", "fan_heater", "radiant", "local"] = "convector"
    local_kw_per_person: Annotated[float, Field(ge=0, le=2)] = 0.15  # local heating: power per seat
    boost_c: Annotated[float, Field(ge=0, le=15)] = 0.0  # local heating: felt − air at full power
    warm_min: Annotated[float, Field(gt=0, le=120)] = 15.0  # local heating: time constant of the boost
    window_loss_kw_per_k: Annotated[float, Field(gt=0, le=5)] = 0.2  # one casement window wide open
    emitter_lag_min: Annotated[float, Field(ge=0, le=120)] | None = None  # default: by emitter kind

    @model_validator(mode="after")
    def _shares(self) -> ArchetypeParams:
        total = self.glazing_south + self.glazing_east + self.glazing_west + self.glazing_north
        if abs(total - 1.0) > 0.011:
            raise ValueError(f"glazing_south/east/west/north must sum to 1 (they sum to {total:.2f})")
        return self

    def figures(self) -> Figures:
        """As the plain dataclass :func:`drivers.sim.zone_params.derive` reads."""
        return Figures(**self.model_dump())


#: the names a zone may override (every archetype parameter)
OVERRIDABLE: frozenset[str] = frozenset(ArchetypeParams.model_fields)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title: str
    description: str = ""
    sources: str = Field(min_length=1)
    ranges: str = Field(min_length=1)
    params: ArchetypeParams


@dataclass(frozen=True, slots=True)
class Archetype:
    """One building type: its figures, where they come from, and what varies in practice."""

    name: str
    title: str
    description: str
    sources: str
    ranges: str
    params: ArchetypeParams


def archetype_names() -> set[str]:
    """Names of the shipped archetypes (file names without ``.toml``)."""
    return {
        entry.name.removesuffix(".toml")
        for entry in resources.files(__package__).iterdir()
        if entry.name.endswith(".toml")
    }


def _located(exc: ValidationError, where: str) -> ArchetypeError:
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return ArchetypeError(f"{where}: {problems}")


def parse_archetype(text: str, *, where: str = "<archetype>") -> Archetype:
    """Validate an archetype file's text; :class:`ArchetypeError` names ``where`` and the field."""
    try:
        raw = _File.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise ArchetypeError(f"{where}: not valid TOML: {exc}") from exc
    except ValidationError as exc:
        raise _located(exc, where) from exc
    return Archetype(raw.name, raw.title, raw.description, raw.sources.strip(), raw.ranges.strip(), raw.params)


@functools.cache
def load_archetype(name: str) -> Archetype:
    """The shipped archetype ``name`` (cached)."""
    if name not in archetype_names():
        raise ArchetypeError(f"unknown archetype {name!r}; known: {', '.join(sorted(archetype_names()))}")
    where = f"drivers/sim/archetypes/{name}.toml"
    archetype = parse_archetype(resources.files(__package__).joinpath(f"{name}.toml").read_text("utf-8"), where=where)
    if archetype.name != name:
        raise ArchetypeError(f"{where}: name = {archetype.name!r} differs from the file name")
    return archetype


def with_overrides(archetype: str, overrides: Mapping[str, Any] | None = None) -> ArchetypeParams:
    """The archetype's figures with some replaced; validated like the file (:class:`ArchetypeError`)."""
    base = load_archetype(archetype).params
    if not overrides:
        return base
    unknown = set(overrides) - OVERRIDABLE
    if unknown:
        raise ArchetypeError(f"not archetype parameters: {', '.join(sorted(unknown))}")
    try:
        return ArchetypeParams.model_validate({**base.model_dump(), **overrides})
    except ValidationError as exc:
        raise _located(exc, f"archetype {archetype!r} with overrides") from exc


def zone_params(
    archetype: str,
    floor_area_m2: float,
    overrides: Mapping[str, Any] | None = None,
    *,
    people: float | None = None,
    heater_kw: float | None = None,
    design_outdoor_c: float = -7.0,
    initial_c: float = 12.0,
    sensor_noise_c: float = 0.05,
    sensor_lag_min: float = SENSOR_LAG_MIN,
) -> ZoneParams:
    """The zone model of ``floor_area_m2`` of ``archetype`` with ``overrides`` (frozen, with derived
    figures: ``time_constant_h``, ``ua_kw_per_k``, ``heater_kw``...). Raises :class:`ArchetypeError`."""
    figures = with_overrides(archetype, overrides).figures()
    try:
        return derive(
            figures,
            floor_area_m2,
            archetype=archetype,
            people=people,
            heater_kw=heater_kw,
            design_outdoor_c=design_outdoor_c,
            initial_c=initial_c,
            sensor_noise_c=sensor_noise_c,
            sensor_lag_min=sensor_lag_min,
        )
    except ValueError as exc:
        raise ArchetypeError(f"archetype {archetype!r}: {exc}") from exc
