"""Meter profiles: register maps as data files, compiled once into decoders.

Rules of this module:
- a profile file (``drivers/profiles/<name>.toml``) is validated when loaded; a bad file is a
  :class:`ProfileError` naming the file and the field, never a crash at poll time;
- every field is a *canonical quantity* (:data:`CANONICAL_UNITS`) and the profile says in which
  unit the meter reports it; the compiled field carries the exact factor to the canonical unit
  (kW -> W, Wh or 0.01 kWh -> kWh), so nothing downstream guesses;
- the profile states its register numbering (``zero-based`` wire addresses, or ``one-based`` as
  printed in many manuals); :attr:`FieldSpec.address` is always the wire address;
- "not available" markers (all ones, 0x7FFF…, 0x8000…) and non-finite floats decode to ``None``
  (a missing value), never to a number.

Example::

    >>> p = load_profile("sdm120")
    >>> [f.name for f in p.fields][:2]
    ['voltage_v', 'current_a']
"""

from __future__ import annotations

import functools
import math
import struct
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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


class ProfileError(ValueError):
    """A profile file that cannot be used (unknown name, bad field, wrong unit)."""


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

    def bind(self, *, quantity: str | None, scale: float | None) -> Profile:
        """This profile for one device: a configurable counter gets its quantity and scale."""
        if not self.configurable:
            if quantity is not None or scale is not None:
                raise ProfileError(f"{self.name}: 'quantity' and 'scale' apply only to pulse-counter")
            return self
        if quantity not in COUNTER_QUANTITIES:
            raise ProfileError(
                f"{self.name}: 'quantity' must be one of {', '.join(sorted(COUNTER_QUANTITIES))}, "
                f"got {quantity!r}"
            )
        if scale is None or not scale > 0 or not math.isfinite(scale):
            raise ProfileError(
                f"{self.name}: 'scale' (units of {quantity} per count) must be a positive number"
            )
        field = self.fields[0]
        bound = replace(field, name=quantity, factor=Fraction(str(scale)), unit=f"{scale} {quantity}/count")
        return replace(self, fields=(bound,), configurable=False)


# ---- the file format (validated with pydantic, like the configuration) ----------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    scale: float = 1.0
    not_available: list[Marker] | None = None
    note: str = ""


class _File(_Strict):
    name: str
    description: str
    source: str = Field(min_length=10, description="vendor document and/or open-source driver")
    numbering: Literal["zero-based", "one-based"]
    configurable: bool = False
    defaults: _Defaults = Field(default_factory=_Defaults)
    fields: dict[str, _Field]


def _compile_field(name: str, raw: _Field, doc: _File, where: str) -> FieldSpec:
    if doc.configurable:
        if raw.unit != "count":
            raise ProfileError(f"{where}: fields.{name}.unit: a configurable counter's unit is 'count'")
        factor = Fraction(1)
    else:
        units = CANONICAL_UNITS.get(name)
        if units is None:
            raise ProfileError(
                f"{where}: fields.{name}: not a canonical quantity ({', '.join(CANONICAL_UNITS)})"
            )
        if raw.unit not in units:
            raise ProfileError(
                f"{where}: fields.{name}.unit: {raw.unit!r} cannot give {name} (use {', '.join(units)})"
            )
        factor = Fraction(str(raw.scale)) * units[raw.unit]
    if not raw.scale > 0:
        raise ProfileError(f"{where}: fields.{name}.scale must be positive")
    address = raw.number - 1 if doc.numbering == "one-based" else raw.number
    if address < 0 or address > 65535:
        raise ProfileError(
            f"{where}: fields.{name}.register {raw.number} is outside the {doc.numbering} range"
        )
    reg_type = raw.type or doc.defaults.type
    markers = raw.not_available if raw.not_available is not None else doc.defaults.not_available
    if reg_type == "float32" and markers:
        raise ProfileError(f"{where}: fields.{name}: float32 values use NaN, not integer markers")
    if address + WIDTHS[reg_type] > 65536:
        raise ProfileError(f"{where}: fields.{name} runs past register 65535")
    return FieldSpec(
        name=name,
        function=raw.function or doc.defaults.function,
        address=address,
        type=reg_type,
        word_order=raw.word_order or doc.defaults.word_order,
        factor=factor,
        unit=raw.unit,
        not_available=frozenset(markers),
    )


def parse_profile(text: str, *, where: str = "<profile>") -> Profile:
    """Validate and compile one profile file's text."""
    try:
        doc = _File.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{where}: not valid TOML: {exc}") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        raise ProfileError(f"{where}: {path}: {first['msg']}") from exc
    if not doc.fields:
        raise ProfileError(f"{where}: a profile needs at least one field")
    if doc.configurable and list(doc.fields) != ["counter"]:
        raise ProfileError(f"{where}: a configurable profile has exactly one field, 'counter'")
    fields = tuple(_compile_field(name, raw, doc, where) for name, raw in doc.fields.items())
    return Profile(
        name=doc.name,
        description=doc.description,
        source=doc.source,
        numbering=doc.numbering,
        fields=fields,
        configurable=doc.configurable,
    )


def profile_names() -> set[str]:
    """Names of the shipped profiles."""
    from drivers.profiles import available_profiles

    return available_profiles()


@functools.cache
def load_profile(name: str) -> Profile:
    """The shipped profile ``name`` (cached: profiles are immutable)."""
    if name not in profile_names():
        raise ProfileError(f"unknown profile {name!r}; known: {', '.join(sorted(profile_names()))}")
    resource = resources.files("drivers.profiles").joinpath(f"{name}.toml")
    profile = parse_profile(resource.read_text(encoding="utf-8"), where=f"drivers/profiles/{name}.toml")
    if profile.name != name:
        raise ProfileError(
            f"drivers/profiles/{name}.toml: name = {profile.name!r} differs from the file name"
        )
    return profile


def load_profile_file(path: Path) -> Profile:
    """A profile from any file (to try a new map before adding it to ``drivers/profiles``)."""
    return parse_profile(path.read_text(encoding="utf-8"), where=str(path))


# ---- decoding --------------------------------------------------------------------------------------
def _raw_int(registers: Sequence[int], word_order: WordOrder) -> int:
    words = registers if word_order == "big" else list(reversed(registers))
    value = 0
    for word in words:
        value = (value << 16) | word
    return value


def _is_marker(raw: int, width: int, markers: frozenset[Marker]) -> bool:
    bits = 16 * width
    return (
        ("all_ones" in markers and raw == (1 << bits) - 1)
        or ("max_signed" in markers and raw == (1 << (bits - 1)) - 1)
        or ("min_signed" in markers and raw == 1 << (bits - 1))
    )


_F32 = struct.Struct(">f")


def _shortest_float32(value: float) -> float:
    """The shortest decimal that is the same float32 (230.1, not 230.10000610351562).

    7 significant digits give the shortest form whenever 7 or fewer suffice; 9 always do.
    """
    exact = _F32.pack(value)
    for text in (f"{value:.7g}", f"{value:.8g}"):
        candidate = float(text)
        if _F32.pack(candidate) == exact:
            return candidate
    return float(f"{value:.9g}")


def decode_field(field: FieldSpec, registers: Sequence[int]) -> tuple[float | None, str | None]:
    """One field's value from its registers: ``(value, None)`` or ``(None, reason)``."""
    return decode_run((field,), registers)[0]


def decode_run(fields: Sequence[FieldSpec], registers: Sequence[int]) -> list[tuple[float | None, str | None]]:
    """Values of adjacent fields of one type and word order, converted by pymodbus in one call."""
    from pymodbus.client.mixin import ModbusClientMixin

    first = fields[0]
    width = first.width
    if len(registers) != width * len(fields):
        raise ValueError(f"{first.name}: needs {width * len(fields)} registers, got {len(registers)}")
    if len(fields) > 1 and (first.word_order != "big" or any(f.type != first.type for f in fields)):
        raise ValueError("a run is made of big-word-order fields of one type")
    data_type = ModbusClientMixin.DATATYPE[first.type.upper()]
    raws = ModbusClientMixin.convert_from_registers(list(registers), data_type, word_order=first.word_order)
    out: list[tuple[float | None, str | None]] = []
    for i, (field, raw) in enumerate(zip(fields, raws if isinstance(raws, list) else [raws], strict=True)):
        if field.not_available and _is_marker(
            _raw_int(registers[i * width : (i + 1) * width], field.word_order), width, field.not_available
        ):
            out.append((None, "not_available"))
        else:
            out.append(_scaled(field, raw))  # type: ignore[arg-type]
    return out


def _scaled(field: FieldSpec, raw: float) -> tuple[float | None, str | None]:
    if isinstance(raw, float):
        if not math.isfinite(raw):
            return None, "nonfinite"
        raw = _shortest_float32(raw)
    num, den = field.factor.numerator, field.factor.denominator
    if num == den == 1:
        return float(raw), None
    # raw * num / den: exact for integers (12345678 Wh -> 12345.678 kWh, no 12345.678000000001)
    value = raw * num / den
    if not math.isfinite(value):
        return None, "nonfinite"
    return float(value), None


def encode_field(field: FieldSpec, value: float | None) -> list[int]:
    """The registers a meter would hold for ``value`` (``None`` -> its "not available" marker).

    The inverse of :func:`decode_field`, used by the simulated meters and the tests.
    """
    from pymodbus.client.mixin import ModbusClientMixin

    bits = 16 * field.width
    if value is None:
        if field.type == "float32":
            raw_int = 0x7FC00000  # quiet NaN
        elif "all_ones" in field.not_available:
            raw_int = (1 << bits) - 1
        elif "max_signed" in field.not_available:
            raw_int = (1 << (bits - 1)) - 1
        elif "min_signed" in field.not_available:
            raw_int = 1 << (bits - 1)
        else:
            raise ValueError(f"{field.name} has no 'not available' marker")
        words = [(raw_int >> (16 * i)) & 0xFFFF for i in reversed(range(field.width))]
        return words if field.word_order == "big" else list(reversed(words))
    data_type = ModbusClientMixin.DATATYPE[field.type.upper()]
    raw: int | float
    if field.type == "float32":
        raw = value * field.factor.denominator / field.factor.numerator
    else:
        raw = round(Fraction(str(value)) / field.factor)
        low = -(1 << (bits - 1)) if field.type.startswith("int") else 0
        high = (1 << (bits - 1)) - 1 if field.type.startswith("int") else (1 << bits) - 1
        raw = min(max(raw, low), high)
    return ModbusClientMixin.convert_to_registers(raw, data_type, word_order=field.word_order)
