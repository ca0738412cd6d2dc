"""Simulated BLE thermometers that send REAL advertisement bytes through bleak's callback.

Rules of this module:
- a :class:`SimulatedRadio` has the shape of ``bleak.BleakScanner`` (``start``/``stop``) and
  calls the same detection callback with real ``BLEDevice`` / ``AdvertisementData`` objects,
  so the demo exercises the exact production decode path (bleparser included);
- the payloads are built from the formats' public specifications (bthome.io, pvvx/atc1441
  READMEs, Ruuvi data format 5, MiBeacon v3/v5), encrypted with AES-CCM where the format
  says so; the encoders are plain functions, usable by tests and benchmarks;
- temperatures come from ``temperature_of(sensor)`` (the demo's thermal model of the zone)
  or, when that has nothing, from a plausible day/night model;
- a sensor id put in ``silenced`` stops advertising (a dead battery: the rules' fail-safe).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from drivers.ble_hci import mac_bytes, uuid128_of

UUID_BTHOME = uuid128_of(0xFCD2)
UUID_ENV = uuid128_of(0x181A)
UUID_MIBEACON = uuid128_of(0xFE95)
COMPANY_RUUVI = 0x0499
LYWSD03MMC = 0x055B


@dataclass(frozen=True, slots=True)
class Climate:
    """What a simulated sensor measures at one instant."""

    temperature_c: float
    humidity_pct: float
    battery_pct: int = 87
    battery_mv: int = 2950


@dataclass(frozen=True, slots=True)
class Advert:
    """The fields bleak hands to the callback."""

    service_data: dict[str, bytes]
    manufacturer_data: dict[int, bytes]
    local_name: str | None = None


def _ccm(key: bytes, nonce: bytes, payload: bytes, aad: bytes | None) -> tuple[bytes, bytes]:
    from Cryptodome.Cipher import AES

    cipher = AES.new(key, AES.MODE_CCM, nonce=nonce, mac_len=4)
    if aad:
        cipher.update(aad)
    return cipher.encrypt_and_digest(payload)


def bthome_v2(address: str, c: Climate, packet: int, *, bindkey: bytes | None = None) -> Advert:
    """BTHome v2 (bthome.io): packet id, battery, temperature 0.01 °C, humidity 0.01 %."""
    objects = (
        bytes((0x00, packet & 0xFF, 0x01, c.battery_pct))
        + b"\x02"
        + round(c.temperature_c * 100).to_bytes(2, "little", signed=True)
        + b"\x03"
        + round(c.humidity_pct * 100).to_bytes(2, "little")
    )
    if bindkey is None:
        return Advert({UUID_BTHOME: b"\x40" + objects}, {}, "SBHT-003C")
    counter = packet.to_bytes(4, "little")
    nonce = mac_bytes(address) + b"\xd2\xfc\x41" + counter
    cipher, mic = _ccm(bindkey, nonce, objects, None)
    return Advert({UUID_BTHOME: b"\x41" + cipher + counter + mic}, {}, "SBHT-003C")


def atc1441(address: str, c: Climate, packet: int) -> Advert:
    """atc1441 firmware: 13 bytes big-endian (MAC, 0.1 °C, %, battery %, mV, counter)."""
    payload = (
        mac_bytes(address)
        + round(c.temperature_c * 10).to_bytes(2, "big", signed=True)
        + bytes((round(c.humidity_pct), c.battery_pct))
        + c.battery_mv.to_bytes(2, "big")
        + bytes((packet & 0xFF,))
    )
    return Advert({UUID_ENV: payload}, {}, "ATC_0283F4")


def pvvx(address: str, c: Climate, packet: int) -> Advert:
    """pvvx custom format: 15 bytes little-endian (MAC reversed, 0.01 °C, 0.01 %, mV, %, counter, flags)."""
    payload = (
        mac_bytes(address)[::-1]
        + round(c.temperature_c * 100).to_bytes(2, "little", signed=True)
        + round(c.humidity_pct * 100).to_bytes(2, "little")
        + c.battery_mv.to_bytes(2, "little")
        + bytes((c.battery_pct, packet & 0xFF, 0x00))
    )
    return Advert({UUID_ENV: payload}, {}, "LYWSD03MMC")


def ruuvi_v5(address: str, c: Climate, packet: int) -> Advert:
    """RuuviTag data format 5: 24 bytes big-endian (0.005 °C, 0.0025 %, Pa - 50000, ...)."""
    power = ((c.battery_mv - 1600) << 5) | ((4 + 40) // 2)
    payload = (
        b"\x05"
        + round(c.temperature_c / 0.005).to_bytes(2, "big", signed=True)
        + round(c.humidity_pct / 0.0025).to_bytes(2, "big")
        + (101_325 - 50_000).to_bytes(2, "big")
        + (0).to_bytes(2, "big", signed=True)
        + (0).to_bytes(2, "big", signed=True)
        + (1000).to_bytes(2, "big", signed=True)
        + power.to_bytes(2, "big")
        + bytes((0,))
        + (packet & 0xFFFF).to_bytes(2, "big")
        + mac_bytes(address)
    )
    return Advert({}, {COMPANY_RUUVI: payload}, "Ruuvi 83F4")


def mibeacon(address: str, c: Climate, packet: int, *, bindkey: bytes | None = None) -> Advert:
    """Xiaomi MiBeacon for a LYWSD03MMC: object 0x100D (0.1 °C, 0.1 %); v5 AES-CCM when keyed."""
    mac_rev = mac_bytes(address)[::-1]
    device = LYWSD03MMC.to_bytes(2, "little")
    obj = (
        b"\x0d\x10\x04"
        + round(c.temperature_c * 10).to_bytes(2, "little", signed=True)
        + round(c.humidity_pct * 10).to_bytes(2, "little")
    )
    if bindkey is None:
        return Advert({UUID_MIBEACON: b"\x50\x30" + device + bytes((packet & 0xFF,)) + mac_rev + obj}, {})
    ext = (packet >> 8).to_bytes(3, "little")
    nonce = mac_rev + device + bytes((packet & 0xFF,)) + ext
    cipher, mic = _ccm(bindkey, nonce, obj, b"\x11")
    frame = b"\x58\x58" + device + bytes((packet & 0xFF,)) + mac_rev + cipher + ext + mic
    return Advert({UUID_MIBEACON: frame}, {})


ENCODERS: dict[str, Callable[..., Advert]] = {
    "bthome": bthome_v2,
    "atc1441": atc1441,
    "pvvx": pvvx,
    "ruuvi": ruuvi_v5,
    "mibeacon": mibeacon,
}


def encode(fmt: str, address: str, climate: Climate, packet: int, bindkey: bytes | None = None) -> Advert:
    """One advertisement of ``fmt`` for this measurement."""
    if fmt in ("bthome", "mibeacon"):
        return ENCODERS[fmt](address, climate, packet, bindkey=bindkey)
    return ENCODERS[fmt](address, climate, packet)


def to_bleak(address: str, advert: Advert, rssi: int) -> tuple[Any, Any]:
    """The ``(BLEDevice, AdvertisementData)`` pair bleak would pass to the callback."""
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData

    device = BLEDevice(address, advert.local_name, details=None)
    data = AdvertisementData(
        local_name=advert.local_name,
        manufacturer_data=dict(advert.manufacturer_data),
        service_data=dict(advert.service_data),
        service_uuids=list(advert.service_data),
        tx_power=None,
        rssi=rssi,
        platform_data=(),
    )
    return device, data


@dataclass(frozen=True, slots=True)
class SimSensor:
    """A simulated sensor: where it is and what it speaks."""

    id: str
    address: str
    format: str
    building: str
    zone: str | None
    bindkey: bytes | None = None


def plausible_climate(sensor: SimSensor, now_s: float) -> Climate:
    """A room that is warmer by day than at night, different per sensor, with a little noise."""
    phase = (hash(sensor.id) % 1000) / 1000 * 2 * math.pi
    day = math.sin(2 * math.pi * (now_s % 86_400) / 86_400 - math.pi / 2 + phase)
    temp = 18.0 + 1.5 * day + random.uniform(-0.05, 0.05)  # noqa: S311 - simulation noise
    hum = 52.0 - 6.0 * day + random.uniform(-0.3, 0.3)  # noqa: S311
    return Climate(round(temp, 2), round(min(max(hum, 5.0), 95.0), 2))


class SimulatedRadio:
    """A fake adapter full of sensors: every ``interval_s`` each one advertises (twice, as
    real sensors repeat each frame), through the detection callback."""

    def __init__(
        self,
        callback: Callable[[Any, Any], None],
        *,
        sensors: Sequence[SimSensor],
        temperature_of: Callable[[SimSensor], float | None] | None = None,
        interval_s: float = 5.0,
        repeats: int = 2,
        silenced: set[str] | None = None,
    ) -> None:
        self._callback = callback
        self._sensors = list(sensors)
        self._temperature_of = temperature_of
        self._interval_s = interval_s
        self._repeats = repeats
        self.silenced = silenced if silenced is not None else set()  # sensor ids with a "dead battery"
        self._task: asyncio.Task[None] | None = None
        self._packets = {s.id: random.randrange(256) for s in sensors}  # noqa: S311

    async def start(self) -> None:
        """Start advertising (like ``BleakScanner.start``)."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="sim-ble-radio")

    async def stop(self) -> None:
        """Stop advertising."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def climate_of(self, sensor: SimSensor) -> Climate:
        """The zone's temperature from the thermal model when it has one, else the plausible model."""
        model = plausible_climate(sensor, time.time())
        if self._temperature_of is not None:
            temp = self._temperature_of(sensor)
            if temp is not None:  # the zone's true temperature, with a thermometer's jitter
                measured = temp + random.gauss(0.0, 0.02)
                return Climate(round(measured, 2), model.humidity_pct, model.battery_pct, model.battery_mv)
        return model

    def advertise_once(self) -> None:
        """Every sensor sends its current measurement (each frame ``repeats`` times)."""
        for sensor in self._sensors:
            if sensor.id in self.silenced:
                continue
            self._packets[sensor.id] = (self._packets[sensor.id] + 1) % 256
            advert = encode(
                sensor.format,
                sensor.address,
                self.climate_of(sensor),
                self._packets[sensor.id],
                sensor.bindkey,
            )
            for _ in range(self._repeats):
                device, data = to_bleak(sensor.address, advert, -60 - random.randrange(25))  # noqa: S311
                self._callback(device, data)

    async def _run(self) -> None:
        while True:
            self.advertise_once()
            await asyncio.sleep(self._interval_s)
