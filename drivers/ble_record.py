"""Recorded advertisements as JSON lines (``ble-scan --record`` / ``--replay``).

One line per advertisement, exactly as issue 4 specifies::

    {"time": "2026-11-27T12:00:00.123456+00:00", "address": "AA:BB:CC:DD:EE:FF", "name": null,
     "rssi": -60, "service_data": {"0000fcd2-0000-1000-8000-00805f9b34fb": "40..."},
     "manufacturer_data": {"1177": "05..."}}

Rules: the writer records what bleak handed over, nothing decoded; the reader validates each
line into a frozen :class:`RecordedAdvert` and reports a bad line with its number
(:class:`RecordError`) instead of guessing. Whatever a line holds — not UTF-8, not JSON, values
nested deeper than a recording ever is (:data:`MAX_DEPTH`, checked before ``json`` recurses into
them), absurd numbers — it is a :class:`RecordError`, never another exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from drivers.ble_decode import AdvertDecoder, Decoded, normalise_mac

#: A recording line is an object holding two flat objects: deeper nesting is refused unparsed.
MAX_DEPTH = 4
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


class RecordError(ValueError):
    """A recording line that is not a valid advertisement."""

    def __init__(self, line: int, reason: str) -> None:
        self.line = line
        self.reason = reason
        super().__init__(f"line {line}: {reason}")


@dataclass(frozen=True, slots=True)
class RecordedAdvert:
    """One advertisement as heard."""

    time: datetime
    address: str
    name: str | None
    rssi: int
    service_data: Mapping[str, bytes]
    manufacturer_data: Mapping[int, bytes]

    def decode_with(self, decoder: AdvertDecoder) -> Decoded | None:
        """This advertisement through ``decoder``: ``None`` in no known format, or ``AdvertRejectedError``."""
        return decoder.decode(
            self.address,
            self.rssi,
            service_data=self.service_data,
            manufacturer_data=self.manufacturer_data,
            local_name=self.name,
        )

    def to_json(self) -> str:
        """The JSON line (without newline)."""
        return json.dumps(
            {
                "time": self.time.isoformat(),
                "address": self.address,
                "name": self.name,
                "rssi": self.rssi,
                "service_data": {k: v.hex() for k, v in self.service_data.items()},
                "manufacturer_data": {str(k): v.hex() for k, v in self.manufacturer_data.items()},
            },
            ensure_ascii=False,
        )


def from_bleak(device: Any, adv: Any, *, now: datetime | None = None) -> RecordedAdvert:
    """What bleak's callback received, as a record."""
    return RecordedAdvert(
        time=now or datetime.now(UTC),
        address=str(device.address).upper(),
        name=adv.local_name or getattr(device, "name", None),
        rssi=int(adv.rssi),
        service_data={str(k): bytes(v) for k, v in adv.service_data.items()},
        manufacturer_data={int(k): bytes(v) for k, v in adv.manufacturer_data.items()},
    )


def _depth(text: str) -> int:
    """How deeply arrays and objects nest in a JSON text (strings skipped), without recursion."""
    depth = deepest = 0
    for char in _JSON_STRING.sub('""', text):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_line(text: str, number: int = 1) -> RecordedAdvert:
    """One JSON line -> :class:`RecordedAdvert`; :class:`RecordError` on anything off."""
    if any("\udc80" <= c <= "\udcff" for c in text):  # bytes that were not UTF-8 (surrogateescape)
        raise RecordError(number, "not UTF-8 text")
    if _depth(text) > MAX_DEPTH:
        raise RecordError(number, f"values nested more than {MAX_DEPTH} deep: not a recorded advertisement")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(number, f"not JSON: {exc.msg}") from exc
    if not isinstance(raw, dict):
        raise RecordError(number, "not a JSON object")
    try:
        when = datetime.fromisoformat(str(raw["time"]))
        address = normalise_mac(str(raw["address"]))
        rssi = raw["rssi"]
        if not isinstance(rssi, int) or isinstance(rssi, bool):
            raise RecordError(number, "rssi must be an integer")
        name = raw.get("name")
        service = {str(k): bytes.fromhex(str(v)) for k, v in dict(raw.get("service_data") or {}).items()}
        manufacturer = {int(k): bytes.fromhex(str(v)) for k, v in dict(raw.get("manufacturer_data") or {}).items()}
    except KeyError as exc:
        raise RecordError(number, f"missing {exc.args[0]!r}") from exc
    except (TypeError, ValueError, OverflowError) as exc:
        if isinstance(exc, RecordError):
            raise
        raise RecordError(number, str(exc)[:200]) from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return RecordedAdvert(when, address, str(name) if name is not None else None, rssi, service, manufacturer)


def read_records(stream: TextIO) -> Iterator[RecordedAdvert | RecordError]:
    """Every line of a recording: the advert, or the error of a bad line (blank lines skipped)."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            yield parse_line(line, number)
        except RecordError as exc:
            yield exc
