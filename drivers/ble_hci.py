"""bleak's view of an advertisement <-> the raw HCI LE Advertising Report that bleparser parses.

Rules of this module:
- pure byte shuffling, no I/O and no state; both directions are exact inverses on the
  parts bleak exposes (service data with 16-bit UUIDs, manufacturer data, local name,
  16-bit service UUID list), so bleparser's own published HCI test vectors can be turned
  into bleak ``AdvertisementData`` and back (tests/unit/test_ble_hci.py);
- bleak hands service data keyed by 128-bit UUID strings (``0000fcd2-0000-1000-8000-00805f9b34fb``)
  and manufacturer data keyed by company id with the id stripped; the air format puts the
  16-bit UUID / company id little-endian in front of the data: we put it back;
- service data under a non-Bluetooth-base 128-bit UUID has no 16-bit form and is left out
  (none of the supported formats uses one);
- an advertisement too large for one report raises :class:`AdvertTooLargeError` (counted by the caller).

Layout of a legacy report (Bluetooth Core 5.x, Vol 4 Part E 7.7.65.2), as bleparser reads it::

    04 3E <len> 02 01 <evt type> <addr type> <addr, 6 bytes reversed> <data len> <AD structures> <rssi>
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

#: The Bluetooth base UUID: 16-bit UUIDs live at ``0000xxxx-`` + this suffix.
BASE_UUID_SUFFIX = "-0000-1000-8000-00805f9b34fb"

AD_UUID16_INCOMPLETE = 0x02
AD_UUID16_COMPLETE = 0x03
AD_SHORT_NAME = 0x08
AD_COMPLETE_NAME = 0x09
AD_SERVICE_DATA_UUID16 = 0x16
AD_MANUFACTURER_DATA = 0xFF

_MAX_AD_PAYLOAD = 255 - 12  # the event's one-byte length bounds the whole report


class AdvertTooLargeError(ValueError):
    """The advertisement's fields do not fit in one HCI report."""


def uuid16_of(uuid: str) -> int | None:
    """The 16-bit form of a UUID string on the Bluetooth base, or ``None``."""
    text = uuid.lower()
    if len(text) == 36 and text.startswith("0000") and text.endswith(BASE_UUID_SUFFIX):
        try:
            return int(text[4:8], 16)
        except ValueError:
            return None
    if len(text) == 4:  # some callers (and our recordings) may already use the short form
        try:
            return int(text, 16)
        except ValueError:
            return None
    return None


def uuid128_of(uuid16: int) -> str:
    """The 128-bit UUID string bleak uses for a 16-bit UUID."""
    return f"0000{uuid16:04x}{BASE_UUID_SUFFIX}"


def _ad(ad_type: int, payload: bytes) -> bytes:
    return bytes((len(payload) + 1, ad_type)) + payload


def ad_structures(
    *,
    service_data: Mapping[str, bytes],
    manufacturer_data: Mapping[int, bytes],
    local_name: str | None = None,
    service_uuids: Sequence[str] = (),
) -> bytes:
    """The AD structures (advertising data) that carry these fields on air."""
    out = bytearray()
    uuids16 = [u for u in (uuid16_of(s) for s in service_uuids) if u is not None]
    if uuids16:
        out += _ad(AD_UUID16_COMPLETE, b"".join(u.to_bytes(2, "little") for u in uuids16))
    if local_name:
        out += _ad(AD_COMPLETE_NAME, local_name.encode("utf-8")[:29])
    for uuid, data in service_data.items():
        short = uuid16_of(uuid)
        if short is not None:
            out += _ad(AD_SERVICE_DATA_UUID16, short.to_bytes(2, "little") + bytes(data))
    for company, data in manufacturer_data.items():
        out += _ad(AD_MANUFACTURER_DATA, (company & 0xFFFF).to_bytes(2, "little") + bytes(data))
    return bytes(out)


def hci_report(
    address: str,
    rssi: int,
    *,
    service_data: Mapping[str, bytes],
    manufacturer_data: Mapping[int, bytes],
    local_name: str | None = None,
    service_uuids: Sequence[str] = (),
) -> bytes:
    """A legacy HCI LE Advertising Report carrying these fields, as bleparser expects.

    >>> hci_report("A4:C1:38:02:83:F4", -33, service_data={}, manufacturer_data={0x0499: b"\\x05"}).hex()
    '043e1102010000f4830238c1a40504ff990405df'
    """
    mac = mac_bytes(address)
    data = ad_structures(
        service_data=service_data,
        manufacturer_data=manufacturer_data,
        local_name=local_name,
        service_uuids=service_uuids,
    )
    if len(data) > _MAX_AD_PAYLOAD:
        raise AdvertTooLargeError(f"{len(data)} bytes of advertising data do not fit in one report")
    body = bytes((0x02, 0x01, 0x00, 0x00)) + mac[::-1] + bytes((len(data),)) + data + bytes((rssi & 0xFF,))
    return bytes((0x04, 0x3E, len(body))) + body


def mac_bytes(address: str) -> bytes:
    """``"A4:C1:38:02:83:F4"`` -> ``b"\\xa4\\xc1\\x38\\x02\\x83\\xf4"``; ValueError otherwise."""
    parts = address.split(":")
    if len(parts) != 6 or any(len(p) != 2 for p in parts):
        raise ValueError(f"not a MAC address: {address!r}")
    return bytes(int(p, 16) for p in parts)


def format_mac(raw: bytes) -> str:
    """``b"\\xa4\\xc1..."`` -> ``"A4:C1:..."``."""
    return ":".join(f"{b:02X}" for b in raw)


@dataclass(frozen=True)
class AdvertFields:
    """The parts of an advertisement that bleak's ``AdvertisementData`` carries."""

    address: str
    rssi: int
    local_name: str | None = None
    service_data: dict[str, bytes] = field(default_factory=dict)
    manufacturer_data: dict[int, bytes] = field(default_factory=dict)
    service_uuids: list[str] = field(default_factory=list)


def parse_hci_report(report: bytes) -> AdvertFields:
    """The inverse of :func:`hci_report`, for legacy and extended reports (test vectors).

    Raises ValueError on a report that is not a well-formed single LE advertising report.
    """
    if len(report) < 15 or report[0] != 0x04 or report[1] != 0x3E or report[2] + 3 != len(report):
        raise ValueError("not an HCI LE meta event")
    extended = report[3] == 0x0D
    start = 29 if extended else 14
    mac = report[8:14] if extended else report[7:13]
    size = report[start - 1]
    rssi_byte = report[18] if extended else report[-1]
    rssi = rssi_byte - 256 if rssi_byte > 127 else rssi_byte
    ads = report[start : start + size]
    if len(ads) != size:
        raise ValueError("truncated report")
    fields = AdvertFields(address=format_mac(mac[::-1]), rssi=rssi)
    names: dict[int, str] = {}
    pos = 0
    while pos < len(ads):
        length = ads[pos]
        if length == 0:
            break
        struct = ads[pos + 1 : pos + 1 + length]
        if len(struct) != length:
            raise ValueError("truncated AD structure")
        kind, payload = struct[0], struct[1:]
        if kind in (AD_UUID16_INCOMPLETE, AD_UUID16_COMPLETE):
            fields.service_uuids.extend(
                uuid128_of(int.from_bytes(payload[i : i + 2], "little")) for i in range(0, len(payload) - 1, 2)
            )
        elif kind in (AD_SHORT_NAME, AD_COMPLETE_NAME):
            names[kind] = payload.decode("utf-8", "replace")
        elif kind == AD_SERVICE_DATA_UUID16 and len(payload) >= 2:
            fields.service_data[uuid128_of(int.from_bytes(payload[:2], "little"))] = bytes(payload[2:])
        elif kind == AD_MANUFACTURER_DATA and len(payload) >= 2:
            fields.manufacturer_data[int.from_bytes(payload[:2], "little")] = bytes(payload[2:])
        pos += 1 + length
    name = names.get(AD_COMPLETE_NAME) or names.get(AD_SHORT_NAME)
    return AdvertFields(
        address=fields.address,
        rssi=rssi,
        local_name=name,
        service_data=fields.service_data,
        manufacturer_data=fields.manufacturer_data,
        service_uuids=fields.service_uuids,
    )
