"""The reply a read request must get, checked as its bytes arrive (so a bad reply fails at once).

Rules of this module:
- pure: bytes in, verdict out; no I/O, no clock (the link adds the silence timer);
- a read of ``count`` registers (function 03 or 04) has exactly two possible answers, both
  known before they arrive: the registers (byte count ``2 * count``) or an exception (function
  code + 0x80 and one code byte);
- Modbus TCP: every header byte is known (transaction id, protocol 0, length, unit, function,
  byte count), and a byte stream has no line noise: the first byte that differs makes the reply
  ``garbled``;
- Modbus RTU: bytes before the expected unit and function are line noise and skipped (as
  pymodbus's framer does); a frame of the expected length with a wrong CRC is ``garbled``;
  bytes that never start a plausible frame are ``noise`` (the link calls them garbled once the
  line falls silent), a frame begun and not finished is ``partial`` (truncated, once silent).

Example::

    >>> exp = Expected.from_request("tcp", bytes.fromhex("0007 0000 0006 01 04 0000 0002"))
    >>> check_reply(exp, bytes.fromhex("0007 0000 0007 01 04 04 4366"))
    'partial'
    >>> check_reply(exp, bytes.fromhex("0008 0000 0007 01 04 04"))
    'garbled'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Verdict = Literal["complete", "partial", "noise", "garbled"]
LinkKind = Literal["tcp", "rtu"]

_MBAP = 7  # transaction id (2), protocol id (2), length (2), unit (1)


@dataclass(frozen=True, slots=True)
class Expected:
    """What the reply to one sent read request looks like."""

    kind: LinkKind
    unit: int
    function_code: int
    count: int
    transaction_id: int = 0

    @classmethod
    def from_request(cls, kind: LinkKind, frame: bytes) -> Expected | None:
        """The expectation for the request ``frame`` as sent; ``None`` if it is not a 03/04 read."""
        pdu_at = _MBAP if kind == "tcp" else 1
        if len(frame) < pdu_at + 5:
            return None
        function_code = frame[pdu_at]
        if function_code not in (3, 4):
            return None
        unit = frame[pdu_at - 1]
        count = int.from_bytes(frame[pdu_at + 3 : pdu_at + 5], "big")
        tid = int.from_bytes(frame[0:2], "big") if kind == "tcp" else 0
        return cls(kind, unit, function_code, count, tid)

    @property
    def frame_lengths(self) -> tuple[int, int]:
        """Whole reply length: ``(registers, exception)``."""
        if self.kind == "tcp":
            return _MBAP + 2 + 2 * self.count, _MBAP + 2
        return 5 + 2 * self.count, 5


def check_reply(expected: Expected, data: bytes) -> Verdict:
    """How far ``data`` (everything received since the request) is the expected reply."""
    if expected.kind == "tcp":
        return _check_tcp(expected, data)
    return _check_rtu(expected, data)


def _check_tcp(expected: Expected, data: bytes) -> Verdict:
    regs_len, exc_len = expected.frame_lengths
    tid = expected.transaction_id.to_bytes(2, "big")
    unit_fc = bytes([expected.unit, expected.function_code])
    registers = tid + b"\x00\x00" + (regs_len - 6).to_bytes(2, "big") + unit_fc + bytes([2 * expected.count])
    exception = tid + b"\x00\x00" + (exc_len - 6).to_bytes(2, "big")
    exception += bytes([expected.unit, expected.function_code | 0x80])
    for header, length in ((registers, regs_len), (exception, exc_len)):
        if data[: len(header)] == header[: len(data)]:
            return "complete" if len(data) >= length else "partial"
    return "garbled"


def _check_rtu(expected: Expected, data: bytes) -> Verdict:
    regs_len, exc_len = expected.frame_lengths
    headers = (
        (bytes([expected.unit, expected.function_code, (2 * expected.count) & 0xFF]), regs_len),
        (bytes([expected.unit, expected.function_code | 0x80]), exc_len),
    )
    begun = bad_crc = False
    for start in range(len(data)):
        rest = data[start:]
        for header, length in headers:
            if rest[: len(header)] != header[: len(rest)]:
                continue
            if len(rest) < length:
                begun = True
            elif crc16(rest[: length - 2]) == int.from_bytes(rest[length - 2 : length], "little"):
                return "complete"
            else:
                bad_crc = True
    if begun:
        return "partial"
    return "garbled" if bad_crc else "noise"


def crc16(data: bytes) -> int:
    """Modbus RTU CRC-16 (polynomial 0xA001, initial 0xFFFF); sent low byte first."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc
