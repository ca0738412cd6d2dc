"""Block coalescing: the registers a device needs, packed into the fewest requests.

Rules of this module:
- pure: a plan is computed once per device from its profile and the bus kind, never per poll;
- one request reads one function code (holding and input registers are separate tables);
- at most :data:`MAX_REGISTERS` (125, the Modbus limit for functions 03/04) per request;
- a gap between two fields is read through when the bytes it adds to the reply (2 per register)
  cost less than a new request's overhead (:data:`REQUEST_OVERHEAD_BYTES`): on RS-485 a request
  costs its 8-byte frame, the reply's 5 bytes of header and CRC and two 3.5-character silences;
  on TCP the MBAP headers (7+7), the PDU headers (5+2) and the TCP/IP headers of both segments.

Example::

    >>> from drivers.modbus_profile import load_profile
    >>> blocks = plan_blocks(load_profile("sdm120").fields, bus_kind="rtu")
    >>> [(b.function_code, b.start, b.count) for b in blocks]
    [(4, 0, 14), (4, 30, 2), (4, 70, 6)]
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from drivers.modbus_decode import decode_bytes, is_plain_float32, run_struct, words_struct
from drivers.modbus_profile import FieldSpec

#: Most registers one read request (function 03 or 04) may ask for.
MAX_REGISTERS = 125
#: What one more request costs, in bytes on the line, by bus kind.
REQUEST_OVERHEAD_BYTES = {
    "rtu": 8 + 5 + 7,  # request frame + reply header/CRC + 2 x 3.5 characters of silence
    "tcp": 12 + 9 + 2 * 40,  # MBAP+PDU request and reply headers + IPv4/TCP headers of both segments
}
BusKind = Literal["tcp", "rtu"]


@dataclass(frozen=True, slots=True)
class Block:
    """One read request: a function code, a start address, a count, and the fields it carries.

    ``runs`` groups adjacent fields of one type (big word order) so that each run is converted
    by one ``struct`` call: 20 contiguous float32 cost one conversion, not twenty. The block's
    registers are packed to bytes once per poll; each run is unpacked from them at its offset.
    """

    function_code: int
    start: int
    count: int
    fields: tuple[FieldSpec, ...]
    runs: tuple[tuple[FieldSpec, ...], ...] = ()
    #: per run: its byte offset in the block, its byte size, its unpacker, plain float32 (computed once)
    _layout: tuple[tuple[int, int, struct.Struct, bool], ...] = dataclasses.field(
        default=(), init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if not self.runs:
            object.__setattr__(self, "runs", _runs(self.fields))
        layout = tuple(
            (
                2 * (run[0].address - self.start),
                2 * run[0].width * len(run),
                run_struct(run[0].type, len(run)),
                all(is_plain_float32(f) for f in run),
            )
            for run in self.runs
        )
        object.__setattr__(self, "_layout", layout)

    def decode(self, registers: Sequence[int]) -> list[tuple[str, float | None, str | None]]:
        """``(name, value, missing reason)`` for every field of this block."""
        if len(registers) != self.count:
            raise ValueError(f"block {self.start}+{self.count}: got {len(registers)} registers")
        out: list[tuple[str, float | None, str | None]] = []
        words = words_struct(self.count).pack(*registers)
        for run, (at, size, unpacker, plain) in zip(self.runs, self._layout, strict=True):
            values = decode_bytes(run, words[at : at + size], unpacker, plain=plain)
            out.extend((field.name, value, reason) for field, (value, reason) in zip(run, values, strict=True))
        return out


def _runs(fields: Sequence[FieldSpec]) -> tuple[tuple[FieldSpec, ...], ...]:
    runs: list[list[FieldSpec]] = []
    for field in fields:
        last = runs[-1][-1] if runs else None
        if (
            last is not None
            and field.address == last.end
            and field.type == last.type
            and field.word_order == last.word_order == "big"
        ):
            runs[-1].append(field)
        else:
            runs.append([field])
    return tuple(tuple(run) for run in runs)


def plan_blocks(
    fields: Iterable[FieldSpec],
    *,
    bus_kind: BusKind = "tcp",
    max_registers: int = MAX_REGISTERS,
    read_gaps: bool = True,
) -> tuple[Block, ...]:
    """Pack ``fields`` into requests; ``read_gaps=False`` merges only touching/overlapping fields."""
    overhead = REQUEST_OVERHEAD_BYTES[bus_kind]
    ordered = sorted(fields, key=lambda f: (f.function_code, f.address, f.width))
    blocks: list[Block] = []
    current: list[FieldSpec] = []
    start = end = 0
    for field in ordered:
        if current and field.function_code == current[0].function_code:
            gap = field.address - end
            fits = max(end, field.end) - start <= max_registers
            worth = gap <= 0 or (read_gaps and 2 * gap < overhead)
            if fits and worth:
                current.append(field)
                end = max(end, field.end)
                continue
        if current:
            blocks.append(Block(current[0].function_code, start, end - start, tuple(current)))
        current, start, end = [field], field.address, field.end
    if current:
        blocks.append(Block(current[0].function_code, start, end - start, tuple(current)))
    return tuple(blocks)
