"""BLE thermometers: bleak passive scanning, one callback, coalescing, a scanner watchdog.

Rules of this module:
- :class:`AdvertListener` is the detection callback bleak calls (``(BLEDevice, AdvertisementData)``,
  on the event loop thread). It never raises: bad payloads are counted in
  ``gateway_ble_rejected_total{reason}`` and dropped; unknown devices are ignored (``ble-scan``
  lists them);
- an implausible value of a configured sensor (300 °C, −100 °C, NaN) is never published: it is
  counted in ``gateway_ble_implausible_total{sensor, field}`` and logged at most once an hour per
  sensor and field; an advert with nothing plausible left does not count as fresh, so a sensor
  sending only garbage goes stale (and its zone to its fail-safe) like a silent one;
- coalescing: a sensor repeating its frame counter is one reading; identical values are
  re-published at most every ``heartbeat_s`` (a chatty sensor cannot flood the journal);
- the radio is the one thing tests replace: :class:`BleScanner` takes a ``radio_factory``
  (production: :func:`bleak_radio_factory`; demo: ``drivers.sim.ble_adverts``);
- watchdog: BlueZ on the Pi is known to stop scanning silently. With sensors configured and
  no advertisement at all for ``watchdog_s``, the scanner is restarted; this is logged once
  per silence and counted in ``gateway_ble_scanner_restarts_total``; ``gateway_ble_adapter_up``
  says whether the adapter is scanning;
- this module imports nothing of ``gateway`` but the model; metrics and clock come in as
  small protocols.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from drivers.ble_decode import AdvertDecoder, AdvertRejectedError, Decoded, normalise_mac

log = logging.getLogger("drivers.ble")

DetectionCallback = Callable[[Any, Any], None]

#: Longest wait for the radio to start or stop (BlueZ D-Bus calls can hang).
_RADIO_TIMEOUT_S = 20.0
#: An implausible value is logged at most this often per sensor and field (always counted).
_IMPLAUSIBLE_LOG_EVERY_S = 3600.0


class Counters(Protocol):
    """The part of ``gateway.metrics.Metrics`` this driver uses."""

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None: ...

    def set(self, name: str, value: float, **labels: str) -> None: ...


class MonotonicClock(Protocol):
    """Wall time for readings, monotonic time for ages and the watchdog."""

    def time_ns(self) -> int: ...

    def monotonic(self) -> float: ...


class Radio(Protocol):
    """What the scanner drives: ``bleak.BleakScanner`` has exactly this shape."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


RadioFactory = Callable[[DetectionCallback], Radio]


@dataclass(frozen=True, slots=True)
class BleSensor:
    """A configured sensor: who it is and how to read it."""

    id: str
    address: str
    format: str | None = None
    bindkey: bytes | None = None
    stale_after_s: float = 900.0


@dataclass(frozen=True, slots=True)
class SensorUpdate:
    """A fresh reading of a configured sensor, ready to be published."""

    sensor: BleSensor
    decoded: Decoded
    time_ns: int


@dataclass(slots=True)
class _Track:
    packet: int | None
    values: dict[str, float | bool]
    published_at: float
    fresh_at: float  # monotonic time of the last advert carrying a new measurement
    stale: bool = False


class AdvertListener:
    """The detection callback: decode, keep configured sensors, coalesce, count.

    Example::

        listener = AdvertListener(sensors=[BleSensor("salle-t1", "A4:C1:38:02:83:F4")],
                                  on_update=print, metrics=Metrics(), clock=SystemClock())
        scanner = BleakScanner(detection_callback=listener, scanning_mode="passive")
    """

    def __init__(
        self,
        *,
        sensors: Iterable[BleSensor],
        on_update: Callable[[SensorUpdate], None],
        metrics: Counters,
        clock: MonotonicClock,
        heartbeat_s: float = 60.0,
    ) -> None:
        self.sensors = {normalise_mac(s.address): s for s in sensors}
        self._on_update = on_update
        self._metrics = metrics
        self._clock = clock
        self._heartbeat_s = heartbeat_s
        self._decoder = AdvertDecoder(bindkeys={a: s.bindkey for a, s in self.sensors.items() if s.bindkey})
        self._tracks: dict[str, _Track] = {}
        self._started = clock.monotonic()
        self.last_advert_at: float | None = None  # monotonic time of the last advertisement of anyone
        self._bug_logged = False
        self._implausible_logged: dict[tuple[str, str], float] = {}

    def __call__(self, device: Any, adv: Any) -> None:
        """bleak's ``detection_callback(device, advertisement_data)``; never raises."""
        try:
            self._handle(device, adv)
        except Exception:  # a bug must not stop the scanner: counted, the traceback logged once
            self._metrics.inc("gateway_ble_rejected_total", reason="internal")
            if not self._bug_logged:
                self._bug_logged = True
                log.exception("BLE advertisement handling failed (further failures are only counted)")

    def _handle(self, device: Any, adv: Any) -> None:
        now = self._clock.monotonic()
        self.last_advert_at = now
        self._metrics.inc("gateway_ble_adverts_total")
        address = str(getattr(device, "address", "")).upper()
        sensor = self.sensors.get(address)
        if sensor is None:
            return
        try:
            decoded = self._decoder.decode(
                address,
                int(adv.rssi),
                service_data=adv.service_data,
                manufacturer_data=adv.manufacturer_data,
                local_name=adv.local_name,
                service_uuids=adv.service_uuids,
            )
        except AdvertRejectedError as exc:
            self._metrics.inc("gateway_ble_rejected_total", reason=exc.reason)
            log.debug("%s: advert rejected (%s): %s", sensor.id, exc.reason, exc)
            self._implausible(sensor, exc.implausible, now)
            return
        if decoded is None:
            return
        self._implausible(sensor, dict(decoded.implausible), now)
        if not (decoded.climate or decoded.binary):
            return
        if sensor.format and decoded.format != sensor.format:
            self._metrics.inc("gateway_ble_ignored_total", reason="other_format")
            return
        self._accept(sensor, decoded, now)

    def _implausible(self, sensor: BleSensor, values: Mapping[str, float], now: float) -> None:
        for name, value in values.items():
            self._metrics.inc("gateway_ble_implausible_total", sensor=sensor.id, field=name)
            last = self._implausible_logged.get((sensor.id, name))
            if last is None or now - last >= _IMPLAUSIBLE_LOG_EVERY_S:
                self._implausible_logged[(sensor.id, name)] = now
                log.warning(
                    "%s: implausible %s = %g rejected; counted in gateway_ble_implausible_total, "
                    "logged at most once an hour",
                    sensor.id,
                    name,
                    value,
                )

    def _accept(self, sensor: BleSensor, decoded: Decoded, now: float) -> None:
        values: dict[str, float | bool] = {**decoded.climate, **decoded.binary}
        track = self._tracks.get(sensor.id)
        if track is not None and decoded.packet is not None and decoded.packet == track.packet:
            self._metrics.inc("gateway_ble_coalesced_total", sensor=sensor.id, why="same_packet")
            return
        if track is not None:
            track.fresh_at = now
            track.packet = decoded.packet
            if values == track.values and now - track.published_at < self._heartbeat_s:
                self._metrics.inc("gateway_ble_coalesced_total", sensor=sensor.id, why="same_values")
                return
            track.values = values
            track.published_at = now
        else:
            self._tracks[sensor.id] = _Track(decoded.packet, values, now, now)
        self._metrics.inc("gateway_ble_readings_total", sensor=sensor.id)
        self._on_update(SensorUpdate(sensor, decoded, self._clock.time_ns()))

    def check_stale(self) -> list[tuple[BleSensor, bool, float]]:
        """Sensors whose staleness changed: ``(sensor, is_stale_now, silent_for_s)``; sets the gauges."""
        now = self._clock.monotonic()
        changes: list[tuple[BleSensor, bool, float]] = []
        for sensor in self.sensors.values():
            track = self._tracks.get(sensor.id)
            silent = now - (track.fresh_at if track else self._started)
            self._metrics.set("gateway_ble_sensor_age_seconds", round(silent, 1), sensor=sensor.id)
            stale = silent > sensor.stale_after_s
            was = track.stale if track else False
            if track is None and stale:
                track = self._tracks[sensor.id] = _Track(None, {}, float("-inf"), self._started)
            if track is not None and stale != was:
                track.stale = stale
                changes.append((sensor, stale, silent))
            self._metrics.set("gateway_ble_sensor_stale", 1.0 if stale else 0.0, sensor=sensor.id)
        return changes


def bleak_radio_factory(*, adapter: str, passive: bool) -> RadioFactory:
    """Production radios: ``BleakScanner`` on ``adapter``, passive with BlueZ or-patterns.

    BlueZ only scans passively through its advertisement monitor API, which needs
    or-patterns: we match the service-data UUIDs and the Ruuvi company id of our formats.
    """

    def make(callback: DetectionCallback) -> Radio:
        from bleak import BleakScanner
        from bleak.assigned_numbers import AdvertisementDataType as Ad

        if not passive:
            return BleakScanner(detection_callback=callback, scanning_mode="active", bluez={"adapter": adapter})
        patterns = [
            (0, Ad.SERVICE_DATA_UUID16, b"\xd2\xfc"),  # BTHome v2
            (0, Ad.SERVICE_DATA_UUID16, b"\x1a\x18"),  # atc1441 / pvvx custom
            (0, Ad.SERVICE_DATA_UUID16, b"\x95\xfe"),  # Xiaomi MiBeacon
            (0, Ad.MANUFACTURER_SPECIFIC_DATA, b"\x99\x04"),  # Ruuvi
        ]
        return BleakScanner(
            detection_callback=callback,
            scanning_mode="passive",
            bluez={"adapter": adapter, "or_patterns": patterns},
        )

    return make


class BleScanner:
    """Keeps a radio scanning: start, retry with capped backoff, restart when it goes silent."""

    def __init__(
        self,
        *,
        listener: AdvertListener,
        radio_factory: RadioFactory,
        metrics: Counters,
        clock: MonotonicClock,
        watchdog_s: float,
        fallback_factory: RadioFactory | None = None,
        check_interval_s: float | None = None,
        max_backoff_s: float = 300.0,
        on_stale: Callable[[BleSensor, bool, float], None] | None = None,
        radio_timeout_s: float = _RADIO_TIMEOUT_S,
    ) -> None:
        self.listener = listener
        self._factory = radio_factory
        self._fallback = fallback_factory
        self._metrics = metrics
        self._clock = clock
        self.watchdog_s = watchdog_s
        self._check_s = check_interval_s or min(max(watchdog_s / 4, 0.05), 30.0)
        self._max_backoff_s = max_backoff_s
        self._on_stale = on_stale
        self._radio_timeout_s = radio_timeout_s
        self._radio: Radio | None = None
        self.restarts = 0
        self.adapter_up = False
        self.last_error: str | None = None
        self._started_at = clock.monotonic()

    async def run(self) -> None:
        """Scan until cancelled."""
        self._metrics.set("gateway_ble_adapter_up", 0.0)
        try:
            await self._start_with_retry()
            silent_logged = False
            while True:
                await asyncio.sleep(self._check_s)
                self.check_stale()
                if not self.listener.sensors:
                    continue
                last = max(self.listener.last_advert_at or self._started_at, self._started_at)
                since = self._clock.monotonic() - last
                if since < self.watchdog_s:
                    if silent_logged:
                        log.info("BLE scanner recovered after %d restart(s)", self.restarts)
                        silent_logged = False
                    continue
                if not silent_logged:
                    log.warning(
                        "no BLE advertisement for %.0f s although sensors are configured: restarting the scanner",
                        since,
                    )
                    silent_logged = True
                await self._restart()
        finally:
            await self._stop_radio()
            self._metrics.set("gateway_ble_adapter_up", 0.0)

    def check_stale(self) -> None:
        """Tell ``on_stale`` about sensors that went silent or came back (the run loop calls this)."""
        for sensor, stale, silent in self.listener.check_stale():
            if self._on_stale:
                self._on_stale(sensor, stale, silent)

    async def _restart(self) -> None:
        self.restarts += 1
        self._metrics.inc("gateway_ble_scanner_restarts_total")
        await self._stop_radio()
        await self._start_with_retry()

    async def _start_with_retry(self) -> None:
        delay = 1.0
        logged = False
        while True:
            error = await self._try_start()
            if error is None:
                if logged:
                    log.info("BLE adapter scanning again")
                return
            if not logged:
                log.error(
                    "BLE adapter unavailable (%s); retrying with backoff up to %.0f s",
                    error,
                    self._max_backoff_s,
                )
                logged = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_backoff_s)

    async def _try_start(self) -> str | None:
        try:
            radio = self._factory(self.listener)
            async with asyncio.timeout(self._radio_timeout_s):  # a D-Bus call can hang on a sick BlueZ
                await radio.start()
        except Exception as exc:  # BleakError, D-Bus errors, OSError, TimeoutError: the adapter's fault
            error = f"{type(exc).__name__}: {exc}"
            if self._fallback is not None:
                try:
                    radio = self._fallback(self.listener)
                    async with asyncio.timeout(self._radio_timeout_s):
                        await radio.start()
                except Exception as exc2:
                    error = f"{error}; active scanning: {type(exc2).__name__}: {exc2}"
                else:
                    log.warning("passive BLE scanning unavailable (%s); scanning actively instead", error)
                    self._factory, self._fallback = self._fallback, None
                    self._started(radio)
                    return None
            self.adapter_up = False
            self.last_error = error
            self._metrics.set("gateway_ble_adapter_up", 0.0)
            return error
        self._started(radio)
        return None

    def _started(self, radio: Radio) -> None:
        self._radio = radio
        self.adapter_up = True
        self.last_error = None
        self._started_at = self._clock.monotonic()
        self._metrics.set("gateway_ble_adapter_up", 1.0)

    async def _stop_radio(self) -> None:
        radio, self._radio = self._radio, None
        if radio is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self._radio_timeout_s):
                    await radio.stop()
        self.adapter_up = False
