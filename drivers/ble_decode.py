"""Decode one BLE advertisement into named readings, with bleparser doing the format work.

Rules of this module:
- bleparser (Ernst79/bleparser) decodes the formats; this module only adapts bleak's
  fields to the HCI report it parses (:mod:`drivers.ble_hci`), names the format, renames
  the quantities to the gateway's units and sorts out bad input;
- bad input never raises: :meth:`AdvertDecoder.decode` returns a :class:`Decoded`, ``None``
  (not a format we read: someone's phone, a beacon) or raises :class:`AdvertRejectedError` with a
  short ``reason`` (``truncated``, ``malformed``, ``undecryptable``, ``no_bindkey``,
  ``implausible``, ``too_large``) that the caller counts;
- plausibility: a value outside the sensor's measuring range (:data:`_PLAUSIBLE`, e.g. 300 °C or
  −100 °C, or NaN) is dropped from the reading and reported in :attr:`Decoded.implausible`; the
  advert's other values are kept. An advert with nothing plausible left is rejected
  (``implausible``);
- bleparser's own duplicate filter and per-device format priority are off (we coalesce per
  sensor, see :mod:`drivers.ble`); its log chatter (an ``error`` line per encrypted advert
  without a key) is silenced: the counters say it once, in numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from drivers.ble_hci import AdvertTooLargeError, hci_report, mac_bytes, uuid16_of

Format = Literal["bthome", "atc1441", "pvvx", "mibeacon", "ruuvi"]
#: The formats this gateway supports (docs/sensors.md); bleparser knows more, shown by ble-scan.
FORMATS: tuple[str, ...] = ("bthome", "atc1441", "pvvx", "mibeacon", "ruuvi")

UUID_BTHOME = 0xFCD2
UUID_ENVIRONMENTAL = 0x181A  # atc1441 and pvvx custom
UUID_MIBEACON = 0xFE95
COMPANY_RUUVI = 0x0499

#: bleparser's names -> ours (units in the name, DESIGN.md "Naming on the wire").
_CLIMATE_FIELDS = {
    "temperature": "temperature_c",
    "humidity": "humidity_pct",
    "battery": "battery_pct",
    "voltage": "battery_v",
    "pressure": "pressure_hpa",
}
#: Binary states, only from formats where they mean what they say (pvvx's reed-switch bit
#: and Ruuvi's movement counter do not mean "window" or "presence").
_BINARY_FIELDS = {"window": "window_open", "opening": "window_open", "motion": "motion"}
_BINARY_FORMATS = frozenset({"bthome", "mibeacon"})
_PLAUSIBLE = {
    "temperature_c": (-40.0, 85.0),
    "humidity_pct": (0.0, 100.0),
    "battery_pct": (0.0, 100.0),
    "battery_v": (0.0, 5.0),
    "pressure_hpa": (300.0, 1200.0),
}


class AdvertRejectedError(ValueError):
    """A payload in one of our formats that cannot be used; ``reason`` is the metric label."""

    def __init__(self, reason: str, message: str, *, implausible: Mapping[str, float] | None = None) -> None:
        self.reason = reason
        self.implausible = dict(implausible or {})  # field -> the value refused (reason "implausible")
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Decoded:
    """What one advertisement said.

    ``climate`` holds numeric quantities (``temperature_c``...), ``binary`` the states
    (``window_open``, ``motion``); ``packet`` is the sensor's frame counter when it sends
    one (``None`` otherwise), used to coalesce repeats; ``implausible`` the values dropped
    because no such sensor can measure them.
    """

    address: str
    format: str
    climate: Mapping[str, float]
    binary: Mapping[str, bool]
    rssi_dbm: int
    packet: int | None
    encrypted: bool
    model: str
    implausible: tuple[tuple[str, float], ...] = ()

    def readings(self) -> dict[str, float | bool]:
        """Every quantity in one flat dict (for ``ble-scan`` output)."""
        return {**self.climate, **self.binary, "rssi_dbm": self.rssi_dbm}


def normalise_mac(address: str) -> str:
    """Upper-case colon form; ValueError if it is not a MAC address."""
    mac_bytes(address)
    return address.upper()


class AdvertDecoder:
    """bleparser behind a small, typed, non-raising-by-surprise interface.

    Example::

        decoder = AdvertDecoder(bindkeys={"54:48:E6:8F:80:A5": bytes.fromhex("231d39c1...")})
        decoded = decoder.decode("54:48:E6:8F:80:A5", -52, service_data={...}, manufacturer_data={})
    """

    def __init__(self, *, bindkeys: Mapping[str, bytes] | None = None) -> None:
        from bleparser import BleParser

        logging.getLogger("bleparser").setLevel(logging.CRITICAL)
        self._keys = {mac_bytes(a): k for a, k in (bindkeys or {}).items()}
        self._parser = BleParser(discovery=True, filter_duplicates=False, aeskeys=self._keys)

    def set_bindkey(self, address: str, key: bytes) -> None:
        """Add or replace a device's bind key (16 bytes)."""
        self._keys[mac_bytes(address)] = key

    def decode(
        self,
        address: str,
        rssi: int,
        *,
        service_data: Mapping[str, bytes],
        manufacturer_data: Mapping[int, bytes],
        local_name: str | None = None,
        service_uuids: Sequence[str] = (),
    ) -> Decoded | None:
        """Decode one advertisement; ``None`` when it is in none of the formats bleparser reads."""
        expected = _expected_format(service_data, manufacturer_data)
        try:
            report = hci_report(
                address,
                rssi,
                service_data=service_data,
                manufacturer_data=manufacturer_data,
                local_name=local_name,
                service_uuids=service_uuids,
            )
        except AdvertTooLargeError as exc:
            raise AdvertRejectedError("too_large", str(exc)) from exc
        except ValueError as exc:
            raise AdvertRejectedError("malformed", f"bad address {address!r}") from exc
        # bleparser drops a device's lower-priority format once it saw a higher one (a pvvx
        # frame hides the same thermometer's MiBeacon); we choose per sensor instead.
        self._parser.adv_priority.pop(report[7:13][::-1], None)
        try:
            result, _tracker = self._parser.parse_raw_data(report)
        except Exception as exc:
            if expected is None:
                raise AdvertRejectedError("malformed", f"advert: {type(exc).__name__}: {exc}") from exc
            raise self._why_not(address, expected, service_data, manufacturer_data, None) from exc
        if not result or not result.get("data"):
            if expected is None:
                return None
            raise self._why_not(address, expected, service_data, manufacturer_data, result)
        return self._to_decoded(address, rssi, result, expected)

    def _why_not(
        self,
        address: str,
        expected: str,
        service_data: Mapping[str, bytes],
        manufacturer_data: Mapping[int, bytes],
        result: object,
    ) -> AdvertRejectedError:
        payload = _payload_of(service_data, manufacturer_data)
        encrypted = _is_encrypted(expected, payload)
        if _truncated(expected, payload):
            return AdvertRejectedError("truncated", f"{expected}: {len(payload)} bytes")
        if encrypted:
            if mac_bytes(address) not in self._keys:
                return AdvertRejectedError("no_bindkey", f"{expected}: encrypted and no bind key for {address}")
            return AdvertRejectedError("undecryptable", f"{expected}: bind key does not decrypt (wrong key?)")
        if isinstance(result, dict) and result.get("data") is False:
            return AdvertRejectedError("undecryptable", f"{expected}: payload could not be decrypted")
        return AdvertRejectedError("malformed", f"{expected}: {len(payload)} bytes not understood")

    def _to_decoded(self, address: str, rssi: int, result: dict[str, Any], expected: str | None) -> Decoded:
        firmware = str(result.get("firmware", ""))
        fmt = _format_name(firmware, str(result.get("type", "")))
        climate: dict[str, float] = {}
        binary: dict[str, bool] = {}
        implausible: dict[str, float] = {}
        for key, value in result.items():
            if key in _CLIMATE_FIELDS and isinstance(value, int | float) and not isinstance(value, bool):
                name = _CLIMATE_FIELDS[key]
                low, high = _PLAUSIBLE[name]
                if not low <= float(value) <= high:  # NaN fails too
                    implausible[name] = float(value)
                    continue
                climate[name] = round(float(value), 3)
            elif key in _BINARY_FIELDS and fmt in _BINARY_FORMATS and isinstance(value, int):
                binary[_BINARY_FIELDS[key]] = bool(value)
        if implausible and not climate and not binary:
            shown = ", ".join(f"{name}={value:g} out of {_PLAUSIBLE[name]}" for name, value in implausible.items())
            raise AdvertRejectedError("implausible", f"{fmt}: {shown}", implausible=implausible)
        packet = result.get("packet")
        return Decoded(
            address=normalise_mac(address),
            format=fmt,
            climate=climate,
            binary=binary,
            rssi_dbm=int(rssi),
            packet=int(packet) if isinstance(packet, int | float) and not isinstance(packet, bool) else None,
            encrypted="encrypted" in firmware,
            model=str(result.get("type", "")),
            implausible=tuple(sorted(implausible.items())),
        )


def _expected_format(service_data: Mapping[str, bytes], manufacturer_data: Mapping[int, bytes]) -> str | None:
    """Which of our formats the fields claim to be (before decoding), for error reasons."""
    for uuid in service_data:
        short = uuid16_of(uuid)
        if short == UUID_BTHOME:
            return "bthome"
        if short == UUID_ENVIRONMENTAL:
            return "atc"
        if short == UUID_MIBEACON:
            return "mibeacon"
    if COMPANY_RUUVI in manufacturer_data:
        return "ruuvi"
    return None


def _payload_of(service_data: Mapping[str, bytes], manufacturer_data: Mapping[int, bytes]) -> bytes:
    for uuid, data in service_data.items():
        if uuid16_of(uuid) in (UUID_BTHOME, UUID_ENVIRONMENTAL, UUID_MIBEACON):
            return bytes(data)
    return bytes(manufacturer_data.get(COMPANY_RUUVI, b""))


def _truncated(expected: str, payload: bytes) -> bool:
    """Shorter than any valid frame of the format claims to be."""
    if expected == "atc":  # valid lengths: 8 and 11 (encrypted), 13 (atc1441), 15 (pvvx)
        return len(payload) < 15 and len(payload) not in (8, 11, 13)
    if expected == "ruuvi":
        return len(payload) < 24 and payload[:1] == b"\x05"
    return len(payload) < {"bthome": 2, "mibeacon": 5}.get(expected, 1)


def _is_encrypted(expected: str, payload: bytes) -> bool:
    if expected == "bthome" and payload:
        return bool(payload[0] & 0x01)
    if expected == "mibeacon" and len(payload) >= 2:
        return bool(payload[0] & 0x08)
    if expected == "atc":  # pvvx/atc encrypted variants are 11 and 8 bytes long
        return len(payload) in (8, 11)
    return False


def _format_name(firmware: str, model: str) -> str:
    if firmware.startswith("BTHome V2"):
        return "bthome"
    if firmware.startswith("ATC (Atc1441"):
        return "atc1441"
    if firmware.startswith("ATC (Custom"):
        return "pvvx"
    if firmware.startswith("Xiaomi (MiBeacon"):
        return "mibeacon"
    if firmware == "Ruuvitag V5":
        return "ruuvi"
    return (firmware or model or "unknown").lower().replace(" ", "-")
