"""``[ble]`` and ``[[ble.sensors]]``: passive BLE scanning and the thermometers it reads.

Rules of this section:
- a sensor is identified by its MAC address; anything else heard is ignored (``ble-scan`` lists it);
- a bind key is 32 hex digits, given inline (``bindkey``) or, better, in a file
  (``bindkey_file``) readable by its owner only (mode 0600): checked at load time;
- ``stale_after_s`` is how long a sensor may stay silent before the rules treat its
  temperature as stale; it must exceed ``heartbeat_s`` (identical values are only re-sent
  that often).

Example::

    [ble]
    adapter = "hci0"
    [[ble.sensors]]
    id = "salle-t1"
    address = "A4:C1:38:02:83:F4"
    format = "pvvx"
    building = "salle"
    zone = "grande_salle"
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from gateway.schema.base import Ident, Section, place_problems
from gateway.schema.paths import ConfigPath

_MAC = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")
_KEY = re.compile(r"^[0-9a-f]{32}$")
#: A bind key file holds 32 hex digits and a newline; nothing longer is read.
_KEY_FILE_MAX = 256

BleFormat = Literal["bthome", "atc1441", "pvvx", "mibeacon", "ruuvi"]


class BindKeyError(ValueError):
    """A bind key file that is missing, readable by others or not 32 hex digits."""


def read_bindkey_file(path: Path) -> bytes:
    """The 16-byte key in ``path``; refuses a file group/other may read, or anything but a small file."""
    try:
        with open(path, "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise BindKeyError(f"bind key file {path} is not a regular file")
            raw = file.read(_KEY_FILE_MAX + 1)
        text = raw.decode("ascii").strip().lower()
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise BindKeyError(f"cannot read bind key file {path}: {exc}") from exc
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise BindKeyError(
            f"bind key file {path} is readable by others (mode {stat.S_IMODE(info.st_mode):04o}); chmod 600 it"
        )
    if len(raw) > _KEY_FILE_MAX or not _KEY.fullmatch(text):
        raise BindKeyError(f"bind key file {path} does not hold 32 hex digits")
    return bytes.fromhex(text)


class BleSensorConfig(Section):
    """One thermometer (or window/motion sensor) by MAC address."""

    id: Ident = Field(description="the `device` tag")
    address: str = Field(description="MAC address, e.g. A4:C1:38:02:83:F4")
    format: BleFormat | None = Field(default=None, description="accept only this format (default: any supported)")
    bindkey: str | None = Field(default=None, description="32 hex digits (prefer bindkey_file)")
    bindkey_file: ConfigPath | None = None
    building: Ident
    zone: Ident | None = None
    stale_after_s: Annotated[float, Field(ge=60, le=86_400)] = 900.0
    enabled: bool = True

    @field_validator("address")
    @classmethod
    def _mac(cls, value: str) -> str:
        value = value.upper().replace("-", ":")
        if not _MAC.fullmatch(value):
            raise ValueError(f"{value!r} is not a MAC address (expected AA:BB:CC:DD:EE:FF)")
        return value

    @field_validator("bindkey")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is not None and not _KEY.fullmatch(value.lower()):
            raise ValueError("a bind key is 32 hex digits")
        return value.lower() if value else value

    @model_validator(mode="after")
    def _one_key(self) -> BleSensorConfig:
        if self.bindkey and self.bindkey_file:
            raise ValueError("give bindkey or bindkey_file, not both")
        return self

    def key(self) -> bytes | None:
        """The bind key bytes (reads ``bindkey_file``); raises :class:`BindKeyError`."""
        if self.bindkey:
            return bytes.fromhex(self.bindkey)
        if self.bindkey_file:
            return read_bindkey_file(self.bindkey_file)
        return None


class BleSection(Section):
    """Passive scanning and sensors by MAC address."""

    enabled: bool = True
    adapter: str = Field(default="hci0", pattern=r"^hci[0-9]{1,2}$")
    scanning_mode: Literal["passive", "active"] = Field(
        default="passive",
        description="passive needs BlueZ >= 5.56 with experimental features; falls back to active",
    )
    watchdog_min: Annotated[float, Field(ge=1, le=1440)] = Field(
        default=5.0, description="restart the scanner after this many minutes without any advertisement"
    )
    heartbeat_s: Annotated[float, Field(ge=5, le=3600)] = Field(
        default=60.0, description="identical values are re-published at most this often"
    )
    sensors: list[BleSensorConfig] = Field(default_factory=list)

    def listening(self) -> bool:
        """Whether there is anything to scan for: enabled, with at least one enabled sensor."""
        return self.enabled and any(s.enabled for s in self.sensors)


def cross_check(config: object) -> list[tuple[str, str]]:
    """Sensors name known buildings/zones; ids and addresses unique; key files usable."""
    problems: list[tuple[str, str]] = []
    section: BleSection = config.ble  # type: ignore[attr-defined]
    buildings = config.buildings  # type: ignore[attr-defined]
    meter_ids = {d.id for bus in config.buses.values() for d in bus.devices}  # type: ignore[attr-defined]
    ids: dict[str, int] = {}
    addresses: dict[str, int] = {}
    for i, sensor in enumerate(section.sensors):
        path = f"ble.sensors[{i}]"
        problems += place_problems(path, sensor.building, sensor.zone, buildings)
        if sensor.id in ids or sensor.id in meter_ids:
            problems.append((f"{path}.id", f"device id {sensor.id!r} is already used"))
        ids.setdefault(sensor.id, i)
        if sensor.address in addresses:
            problems.append(
                (f"{path}.address", f"{sensor.address} is already ble.sensors[{addresses[sensor.address]}]")
            )
        addresses.setdefault(sensor.address, i)
        if sensor.stale_after_s <= section.heartbeat_s:
            problems.append((f"{path}.stale_after_s", f"must exceed ble.heartbeat_s ({section.heartbeat_s} s)"))
        if sensor.bindkey_file is not None:
            try:
                read_bindkey_file(sensor.bindkey_file)
            except BindKeyError as exc:
                problems.append((f"{path}.bindkey_file", str(exc)))
        if sensor.format in ("atc1441", "ruuvi") and (sensor.bindkey or sensor.bindkey_file):
            problems.append((f"{path}.bindkey", f"format {sensor.format!r} is never encrypted"))
    return problems
