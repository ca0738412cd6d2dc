"""Meter profiles: register maps as data files, compiled once into decoders.

Rules of this module:
- a profile file (shipped in ``drivers/profiles/<name>.toml``, or one's own beside the
  configuration: :mod:`gateway.meter_profiles`) is validated when loaded; a bad file is a
  :class:`ProfileError` naming the file and the field, never a crash at poll time;
- every field is a *canonical quantity* (:data:`CANONICAL_UNITS`) and the profile says in which
  unit the meter reports it; the compiled field carries the exact factor to the canonical unit
  (kW -> W, Wh or 0.01 kWh -> kWh), so nothing downstream guesses;
- the profile states its register numbering (``zero-based`` wire addresses, or ``one-based`` as
  printed in many manuals); :attr:`FieldSpec.address` is always the wire address;
- "not available" markers (all ones, 0x7FFF…, 0x8000…) and non-finite floats decode to ``None``
  (a missing value), never to a number;
- a profile file states the **plausible range** of every quantity it reads (``[bounds]``, in
  canonical units, per family: ``voltage_v`` covers ``voltage_l1_v``...) and how fast each of its
  counters may rise (``[bounds.rise_per_hour]``); :mod:`drivers.modbus_plausible` applies them;
- numbers in a profile are finite and within sane limits (``scale`` 1e-9..1e9), and a device's
  ``scale`` within :data:`SCALE_RANGE`.

Example::

    >>> p = load_profile("sdm120")
    >>> [f.name for f in p.fields][:2]
    ['voltage_v', 'current_a']
"""

from __future__ import annotations

import dataclasses
import functools
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from importlib import resources
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from drivers.profiles import available_profiles

Function = Literal["input", "holding"]
RegType = Literal["uint16", "int16", "uint32", "int32", "uint64", "int64", "float32"]
WordOrder = Literal["big", "little"]
Marker = Literal["all_ones", "max_signed", "min_signed"]

#: Modbus function codes of the two register tables we read.
FUNCTION_CODES: Mapping[str, int] = {"holding": 3, "input": 4}
#: Width of each register type, in 16-bit registers.
WIDTHS: Mapping[str, int] = {
    "uint16": 1,
    "int16": 1,
    "uint32": 2,
    "int32": 2,
    "uint64": 4,
    "int64": 4,
    "float32": 2,
}

_VOLT = {"V": Fraction(1)}
_AMP = {"A": Fraction(1), "mA": Fraction(1, 1000)}
_WATT = {"W": Fraction(1), "kW": Fraction(1000)}
_KWH = {"kWh": Fraction(1), "Wh": Fraction(1, 1000), "MWh": Fraction(1000)}
#: Canonical quantity -> {unit a meter may report it in: factor to the canonical unit}.
CANONICAL_UNITS: Mapping[str, Mapping[str, Fraction]] = {
    "voltage_v": _VOLT,
    "voltage_l1_v": _VOLT,
    "voltage_l2_v": _VOLT,
    "voltage_l3_v": _VOLT,
    "current_a": _AMP,
    "current_l1_a": _AMP,
    "current_l2_a": _AMP,
    "current_l3_a": _AMP,
    "power_w": _WATT,
    "power_l1_w": _WATT,
    "power_l2_w": _WATT,
    "power_l3_w": _WATT,
    "frequency_hz": {"Hz": Fraction(1)},
    "power_factor": {"1": Fraction(1)},
    "energy_import_kwh": _KWH,
    "energy_export_kwh": _KWH,
    "water_m3": {"m3": Fraction(1), "L": Fraction(1, 1000)},
}
#: Quantities a configurable counter (``pulse-counter``) may be bound to.
COUNTER_QUANTITIES = frozenset({"water_m3", "energy_import_kwh", "energy_export_kwh"})
#: Canonical quantity -> its family, the key of its plausible range in ``[bounds]``.
FAMILIES: Mapping[str, str] = {
    **dict.fromkeys(("voltage_v", "voltage_l1_v", "voltage_l2_v", "voltage_l3_v"), "voltage_v"),
    **dict.fromkeys(("current_a", "current_l1_a", "current_l2_a", "current_l3_a"), "current_a"),
    **dict.fromkeys(("power_w", "power_l1_w", "power_l2_w", "power_l3_w"), "power_w"),
    "frequency_hz": "frequency_hz",
    "power_factor": "power_factor",
    **dict.fromkeys(("energy_import_kwh", "energy_export_kwh"), "energy_kwh"),
    "water_m3": "water_m3",
}
#: Families that are counters: they never go back and rise at most ``rise_per_hour``.
COUNTER_FAMILIES = frozenset({"energy_kwh", "water_m3"})
#: What one count of a configurable counter may be worth (a device's ``scale``), in its quantity.
SCALE_RANGE = (1e-6, 1000.0)
#: How a register value may need converting before it is the canonical quantity.
Convert = Literal["four_quadrant_pf"]


class ProfileError(ValueError):
    """A profile that cannot be used (unknown name, bad field, wrong unit).

    An error inside a profile file carries ``file``, ``field`` (the path in the file, as
    pydantic's ``loc``: ``("fields", "power_w", "unit")``) and ``reason``; ``line`` once someone
    located it (:meth:`at_line`; this module does not scan TOML for positions). It reads
    ``FILE:LINE: field: reason``, like a configuration error.
    """

    def __init__(
        self, reason: str, *, file: str | None = None, field: tuple[str | int, ...] = (), line: int | None = None
    ) -> None:
        self.reason = reason
        self.file = file
        self.field = field
        self.line = line
        where = f"{file}:{line}" if file is not None and line else file
        text = f"{format_field(field)}: {reason}" if field else reason
        super().__init__(f"{where}: {text}" if where else text)

    def at_line(self, line: int) -> ProfileError:
        """The same error, located at ``line`` of its file."""
        return ProfileError(self.reason, file=self.file, field=self.field, line=line)


def format_field(path: tuple[str | int, ...]) -> str:
    """``("bounds", "power_w", 0)`` -> ``bounds.power_w[0]`` (as configuration errors write paths)."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass(frozen=True, slots=True)
class Bounds:
    """Plausible values: ``ranges`` per family (canonical units), ``rise_per_hour`` per counter family.

    A profile built in code (benchmarks) may have none: its values are then not checked.
    """

    ranges: Mapping[str, tuple[float, float]] = dataclasses.field(default_factory=dict)
    rise_per_hour: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def range_of(self, name: str) -> tuple[float, float] | None:
        """The plausible range of quantity ``name``, if the profile gives one."""
        family = FAMILIES.get(name)
        return self.ranges.get(family) if family else None

    def rise_of(self, name: str) -> float | None:
        """The largest rise per hour of counter ``name``; ``None`` if it is not a counter."""
        family = FAMILIES.get(name)
        return self.rise_per_hour.get(family) if family in COUNTER_FAMILIES else None


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One quantity of a meter, compiled: wire address, decoding and exact conversion."""

    name: str
    function: Function
    address: int  # wire address (0-based), whatever the manual's numbering
    type: RegType
    word_order: WordOrder
    factor: Fraction  # raw value * factor = value in the canonical unit
    unit: str  # the unit the meter reports (documentation, and the factor's origin)
    not_available: frozenset[Marker]
    convert: Convert | None = None  # a register encoding to undo after scaling

    @property
    def width(self) -> int:
        """Number of 16-bit registers."""
        return WIDTHS[self.type]

    @property
    def end(self) -> int:
        """First wire address after this field."""
        return self.address + self.width

    @property
    def function_code(self) -> int:
        """3 (holding) or 4 (input)."""
        return FUNCTION_CODES[self.function]


@dataclass(frozen=True, slots=True)
class Profile:
    """A meter's register map, ready to plan and decode."""

    name: str
    description: str
    source: str
    numbering: Literal["zero-based", "one-based"]
    fields: tuple[FieldSpec, ...]
    configurable: bool = False  # True: scale and quantity come from the device's configuration
    bounds: Bounds = dataclasses.field(default_factory=Bounds)

    def bind(self, *, quantity: str | None, scale: float | None) -> Profile:
        """This profile for one device: a configurable counter gets its quantity and scale."""
        if not self.configurable:
            if quantity is not None or scale is not None:
                raise ProfileError(f"{self.name}: 'quantity' and 'scale' apply only to pulse-counter")
            return self
        if quantity not in COUNTER_QUANTITIES:
            raise ProfileError(
                f"{self.name}: 'quantity' must be one of {', '.join(sorted(COUNTER_QUANTITIES))}, got {quantity!r}"
            )
        if scale is None or not scale > 0 or not math.isfinite(scale):
            raise ProfileError(f"{self.name}: 'scale' (units of {quantity} per count) must be a positive number")
        low, high = SCALE_RANGE
        if not low <= scale <= high:
            raise ProfileError(
                f"{self.name}: 'scale' = {scale:g} {quantity} per count is implausible "
                f"(between {low:g} and {high:g}: e.g. 0.001 for one litre or one Wh per count)"
            )
        field = self.fields[0]
        bound = replace(field, name=quantity, factor=Fraction(str(scale)), unit=f"{scale} {quantity}/count")
        return replace(self, fields=(bound,), configurable=False)


# ---- the file format (validated with pydantic, like the configuration) ----------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


_Range = tuple[float, float]
_Rise = Annotated[float, Field(gt=0)]


class _Bounds(_Strict):
    voltage_v: _Range | None = None
    current_a: _Range | None = None
    power_w: _Range | None = None
    frequency_hz: _Range | None = None
    power_factor: _Range | None = None
    energy_kwh: _Range | None = None
    water_m3: _Range | None = None
    rise_per_hour: dict[Literal["energy_kwh", "water_m3"], _Rise] = Field(default_factory=dict)


class _Defaults(_Strict):
    function: Function = "holding"
    type: RegType = "float32"
    word_order: WordOrder = "big"
    not_available: list[Marker] = Field(default_factory=list)


class _Field(_Strict):
    number: Annotated[int, Field(ge=0, le=65536, alias="register")]
    unit: str
    function: Function | None = None
    type: RegType | None = None
    word_order: WordOrder | None = None
    scale: Annotated[float, Field(ge=1e-9, le=1e9)] = 1.0
    not_available: list[Marker] | None = None
    convert: Convert | None = None
    note: str = ""


class _File(_Strict):
    name: str
    description: str
    source: str = Field(min_length=10, description="vendor document and/or open-source driver")
    numbering: Literal["zero-based", "one-based"]
    configurable: bool = False
    defaults: _Defaults = Field(default_factory=_Defaults)
    fields: dict[str, _Field]
    bounds: _Bounds | None = None  # required in a shipped profile; a draft may leave it out


def _compile_field(name: str, raw: _Field, doc: _File, where: str) -> FieldSpec:
    if doc.configurable:
        if raw.unit != "count":
            raise ProfileError("a configurable counter's unit is 'count'", file=where, field=("fields", name, "unit"))
        factor = Fraction(1)
    else:
        units = CANONICAL_UNITS.get(name)
        if units is None:
            raise ProfileError(
                f"not a canonical quantity ({', '.join(CANONICAL_UNITS)})", file=where, field=("fields", name)
            )
        if raw.unit not in units:
            reason = f"{raw.unit!r} cannot give {name} (use {', '.join(units)})"
            raise ProfileError(reason, file=where, field=("fields", name, "unit"))
        factor = Fraction(str(raw.scale)) * units[raw.unit]
    if not raw.scale > 0:
        raise ProfileError("must be positive", file=where, field=("fields", name, "scale"))
    address = raw.number - 1 if doc.numbering == "one-based" else raw.number
    if address < 0 or address > 65535:
        reason = f"register {raw.number} is outside the {doc.numbering} range"
        raise ProfileError(reason, file=where, field=("fields", name, "register"))
    reg_type = raw.type or doc.defaults.type
    markers = raw.not_available if raw.not_available is not None else doc.defaults.not_available
    if reg_type == "float32" and markers:
        raise ProfileError("float32 values use NaN, not integer markers", file=where, field=("fields", name))
    if address + WIDTHS[reg_type] > 65536:
        raise ProfileError("runs past register 65535", file=where, field=("fields", name))
    if raw.convert == "four_quadrant_pf" and name != "power_factor":
        reason = "'four_quadrant_pf' applies to power_factor only"
        raise ProfileError(reason, file=where, field=("fields", name, "convert"))
    return FieldSpec(
        name=name,
        function=raw.function or doc.defaults.function,
        address=address,
        type=reg_type,
        word_order=raw.word_order or doc.defaults.word_order,
        factor=factor,
        unit=raw.unit,
        not_available=frozenset(markers),
        convert=raw.convert,
    )


def _compile_bounds(doc: _File, where: str) -> Bounds:
    """Every quantity the profile can give has a plausible range; every counter a largest rise."""
    if doc.bounds is None:
        return Bounds()
    ranges: dict[str, tuple[float, float]] = {}
    for family, value in doc.bounds.model_dump(exclude={"rise_per_hour"}).items():
        if value is None:
            continue
        low, high = value
        if not low < high:
            reason = f"the lower bound {low:g} is not below {high:g}"
            raise ProfileError(reason, file=where, field=("bounds", family))
        ranges[family] = (float(low), float(high))
    names = sorted(COUNTER_QUANTITIES) if doc.configurable else list(doc.fields)
    needed = {FAMILIES[name] for name in names}
    for family in sorted(needed):
        if family not in ranges:
            raise ProfileError("missing (the plausible range of its values)", file=where, field=("bounds", family))
        if family in COUNTER_FAMILIES and family not in doc.bounds.rise_per_hour:
            reason = "missing (how much this counter may grow in an hour)"
            raise ProfileError(reason, file=where, field=("bounds", "rise_per_hour", family))
    for family in sorted(set(ranges) - needed):
        raise ProfileError("the profile has no such quantity", file=where, field=("bounds", family))
    return Bounds(ranges, {str(k): v for k, v in doc.bounds.rise_per_hour.items()})


def parse_profile(text: str, *, where: str = "<profile>", draft: bool = False) -> Profile:
    """Validate and compile one profile file's text (a ``draft`` may leave ``[bounds]`` out)."""
    try:
        doc = _File.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"not valid TOML: {exc}", file=where) from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        path = tuple(p for p in first["loc"] if p != "[key]")  # "[key]": pydantic marks a bad dict key
        raise ProfileError(str(first["msg"]), file=where, field=path) from exc
    if not doc.fields:
        raise ProfileError("a profile needs at least one field", file=where, field=("fields",))
    if doc.configurable and list(doc.fields) != ["counter"]:
        raise ProfileError("a configurable profile has exactly one field, 'counter'", file=where, field=("fields",))
    if doc.bounds is None and not draft:
        reason = "missing (each quantity's plausible range: docs/meter-profiles.md)"
        raise ProfileError(reason, file=where, field=("bounds",))
    fields = tuple(_compile_field(name, raw, doc, where) for name, raw in doc.fields.items())
    return Profile(
        name=doc.name,
        description=doc.description,
        source=doc.source,
        numbering=doc.numbering,
        fields=fields,
        configurable=doc.configurable,
        bounds=_compile_bounds(doc, where),
    )


def profile_names() -> set[str]:
    """Names of the shipped profiles."""
    return available_profiles()


def shipped_profile_text(name: str) -> str:
    """The text of the shipped profile ``name`` (``drivers/profiles/<name>.toml``)."""
    if name not in profile_names():
        raise ProfileError(f"unknown profile {name!r}; known: {', '.join(sorted(profile_names()))}")
    return resources.files("drivers.profiles").joinpath(f"{name}.toml").read_text(encoding="utf-8")


@functools.cache
def load_profile(name: str) -> Profile:
    """The shipped profile ``name`` (cached: profiles are immutable).

    A profile of one's own (a file beside the configuration) is found and loaded by
    :mod:`gateway.meter_profiles`, with the same validation.
    """
    where = f"drivers/profiles/{name}.toml"
    profile = parse_profile(shipped_profile_text(name), where=where)
    if profile.name != name:
        raise ProfileError(f"{profile.name!r} differs from the file name", file=where, field=("name",))
    return profile


# decoding lives in drivers.modbus_decode; these names stay importable from here
from drivers.modbus_decode import decode_field, decode_run, encode_field  # noqa: E402

__all__ = [
    "CANONICAL_UNITS",
    "COUNTER_FAMILIES",
    "COUNTER_QUANTITIES",
    "FAMILIES",
    "SCALE_RANGE",
    "Bounds",
    "FieldSpec",
    "Profile",
    "ProfileError",
    "decode_field",
    "decode_run",
    "encode_field",
    "format_field",
    "load_profile",
    "parse_profile",
    "profile_names",
    "shipped_profile_text",
]
