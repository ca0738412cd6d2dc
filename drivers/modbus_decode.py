"""Register values to numbers in canonical units, and back (for the simulated meters and the tests).

Rules of this module:
- a run of adjacent fields of one type is converted by one ``struct`` call (the same conversion as
  pymodbus's ``convert_from_registers``: words in value order, big-endian, one format per type);
  a block's registers are packed to bytes once and each run unpacked from them at its offset;
- "not available" markers (all ones, 0x7FFF…, 0x8000…) and non-finite floats decode to ``None``
  with a reason (``not_available``, ``nonfinite``), never to a number;
- float32 values come out as their shortest decimal (230.1, not 230.10000610351562), integers
  are scaled exactly (12 345 678 Wh -> 12345.678 kWh);
- a field may ask for a conversion after scaling (``four_quadrant_pf``: Schneider's power factor
  register, the quadrant in the value, becomes a power factor in -1..1).
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drivers.modbus_profile import FieldSpec, Marker, WordOrder


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
    candidate = float(f"{value:.7g}")
    if _F32.pack(candidate) == exact:
        return candidate
    candidate = float(f"{value:.8g}")
    if _F32.pack(candidate) == exact:
        return candidate
    return float(f"{value:.9g}")


def decode_field(field: FieldSpec, registers: Sequence[int]) -> tuple[float | None, str | None]:
    """One field's value from its registers: ``(value, None)`` or ``(None, reason)``."""
    return decode_run((field,), registers)[0]


#: ``struct`` codes of the register types (of the value's bytes, big-endian, words in value order).
TYPE_CODES: dict[str, str] = {
    "uint16": "H", "int16": "h", "uint32": "I", "int32": "i", "uint64": "Q", "int64": "q", "float32": "f",
}  # fmt: skip


@functools.cache
def words_struct(count: int) -> struct.Struct:
    """Packs ``count`` registers (16-bit words) to bytes, big-endian."""
    return struct.Struct(f">{count}H")


@functools.cache
def run_struct(reg_type: str, count: int) -> struct.Struct:
    """Unpacks ``count`` adjacent values of ``reg_type`` from their bytes."""
    return struct.Struct(f">{count}{TYPE_CODES[reg_type]}")


def decode_run(fields: Sequence[FieldSpec], registers: Sequence[int]) -> list[tuple[float | None, str | None]]:
    """Values of adjacent fields of one type and word order, converted by one ``struct`` call."""
    first = fields[0]
    width = first.width
    if len(registers) != width * len(fields):
        raise ValueError(f"{first.name}: needs {width * len(fields)} registers, got {len(registers)}")
    if len(fields) > 1 and (first.word_order != "big" or any(f.type != first.type for f in fields)):
        raise ValueError("a run is made of big-word-order fields of one type")
    data = words_struct(len(registers)).pack(*registers)
    plain = all(is_plain_float32(field) for field in fields)
    return decode_bytes(fields, data, run_struct(first.type, len(fields)), plain=plain)


def decode_bytes(
    fields: Sequence[FieldSpec], data: bytes, unpacker: struct.Struct, *, plain: bool
) -> list[tuple[float | None, str | None]]:
    """Values of a run from its registers' bytes, in register order (``unpacker``: its
    :func:`run_struct`; ``plain``: every field :func:`is_plain_float32`)."""
    if fields[0].word_order != "big":  # a single field whose words come low first: put them in value order
        data = b"".join(data[i : i + 2] for i in range(len(data) - 2, -2, -2))
    raws = unpacker.unpack(data)
    return _decode_plain_float32(raws) if plain else _decode_unpacked(fields, raws, data)


def is_plain_float32(field: FieldSpec) -> bool:
    """A float32 taken as it is: no scale, no marker, no conversion (most meters' every value)."""
    return field.type == "float32" and field.factor == 1 and field.convert is None and not field.not_available


def _decode_plain_float32(raws: Sequence[float]) -> list[tuple[float | None, str | None]]:
    """:func:`_decode_unpacked` for fields that are all :func:`is_plain_float32`, without the general steps."""
    isfinite, shortest = math.isfinite, _shortest_float32
    return [(shortest(raw), None) if isfinite(raw) else (None, "nonfinite") for raw in raws]


def _decode_unpacked(
    fields: Sequence[FieldSpec], raws: Sequence[float], data: bytes
) -> list[tuple[float | None, str | None]]:
    """Values of a run from its unpacked ``raws`` and its bytes ``data`` (in value order, for markers)."""
    size = 2 * fields[0].width
    out: list[tuple[float | None, str | None]] = []
    for i, field in enumerate(fields):
        if field.not_available and _is_marker(
            int.from_bytes(data[i * size : (i + 1) * size], "big"), field.width, field.not_available
        ):
            out.append((None, "not_available"))
        else:
            out.append(_scaled(field, raws[i]))
    return out


def _scaled(field: FieldSpec, raw: float) -> tuple[float | None, str | None]:
    if isinstance(raw, float):
        if not math.isfinite(raw):
            return None, "nonfinite"
        raw = _shortest_float32(raw)
    num, den = field.factor.numerator, field.factor.denominator
    # raw * num / den: exact for integers (12345678 Wh -> 12345.678 kWh, no 12345.678000000001)
    value = float(raw) if num == den == 1 else raw * num / den
    if not math.isfinite(value):
        return None, "nonfinite"
    if field.convert == "four_quadrant_pf":
        value = _four_quadrant_pf(value)
    return float(value), None


def _four_quadrant_pf(register: float) -> float:
    """Schneider's power factor register (-2..2, the quadrant in the value) as the power factor.

    iEM3100/3200/3300 user manual DOCA0005EN-04, "Power factor register format": quadrants 1
    and 2 hold the power factor itself (0..1, -1..0); quadrant 3 holds -2..-1 for 0..-1
    (PF = -2 - register), quadrant 4 holds 1..2 for 1..0 (PF = 2 - register).
    """
    if register > 1:
        return round(2 - register, 9)
    if register < -1:
        return round(-2 - register, 9)
    return register


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
