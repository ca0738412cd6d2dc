"""Coalescing, staleness and the scanner watchdog (the radio is the one thing faked here)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from drivers.ble import AdvertListener, BleScanner, BleSensor
from drivers.ble_hci import uuid128_of
from drivers.sim.ble_adverts import Advert, Climate, encode, to_bleak
from gateway.clock import ManualClock, SystemClock
from gateway.metrics import Metrics
from tests.unit.test_ble_decode import VECTORS, Recorder, bleak_objects

ADDRESS = "A4:C1:38:02:83:F4"


def make(clock, **kw) -> tuple[AdvertListener, Recorder, Metrics]:
    rec, metrics = Recorder(), Metrics()
    sensors = kw.pop("sensors", [BleSensor("salle-t1", ADDRESS, stale_after_s=600)])
    return AdvertListener(sensors=sensors, on_update=rec, metrics=metrics, clock=clock, **kw), rec, metrics


def scanning(radio_factory: Any, *, sensors: Any = None, **kw: Any) -> tuple[BleScanner, Recorder, Metrics]:
    """A scanner on the system clock over a fresh listener (of ``sensors``, one thermometer by default)."""
    listener, rec, metrics = make(SystemClock(), **({} if sensors is None else {"sensors": sensors}))
    scanner = BleScanner(listener=listener, radio_factory=radio_factory, metrics=metrics, clock=SystemClock(), **kw)
    return scanner, rec, metrics


@contextlib.asynccontextmanager
async def running(scanner: BleScanner) -> AsyncIterator[asyncio.Task[None]]:
    """The scanner's task for the block's duration, cancelled and awaited at its end."""
    task = asyncio.create_task(scanner.run())
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_same_packet_counter_is_one_reading() -> None:
    clock = ManualClock(datetime(2026, 11, 27, 8, tzinfo=UTC))
    listener, rec, metrics = make(clock)
    device, adv = bleak_objects(VECTORS[5][1])  # pvvx frame, counter 247
    for _ in range(5):  # the sensor repeats each frame several times
        listener(device, adv)
        clock.advance(0.5)
    assert len(rec.updates) == 1
    assert metrics.get("gateway_ble_coalesced_total", sensor="salle-t1", why="same_packet") == 4


def test_identical_values_are_rate_limited_to_the_heartbeat() -> None:
    clock = ManualClock(datetime(2026, 11, 27, 8, tzinfo=UTC))
    listener, rec, _metrics = make(clock, heartbeat_s=60)
    same = Climate(19.5, 50.0)
    for packet in range(1, 13):  # a new counter every 10 s, same temperature
        listener(*to_bleak(ADDRESS, encode("pvvx", ADDRESS, same, packet), -60))
        clock.advance(10)
    assert len(rec.updates) == 2  # t=0 and t=60 (heartbeat)
    listener(*to_bleak(ADDRESS, encode("pvvx", ADDRESS, Climate(19.6, 50.0), 13), -60))
    assert len(rec.updates) == 3  # a change goes through at once
    assert rec.updates[-1].decoded.climate["temperature_c"] == 19.6


def test_rssi_changes_alone_do_not_make_a_new_reading() -> None:
    clock = ManualClock(datetime(2026, 11, 27, 8, tzinfo=UTC))
    listener, rec, _ = make(clock)
    listener(*to_bleak(ADDRESS, encode("bthome", ADDRESS, Climate(19.5, 50.0), 1), -60))
    listener(*to_bleak(ADDRESS, encode("bthome", ADDRESS, Climate(19.5, 50.0), 2), -75))
    assert len(rec.updates) == 1


def test_stale_after_silence_then_recovered() -> None:
    clock = ManualClock(datetime(2026, 11, 27, 8, tzinfo=UTC))
    listener, rec, metrics = make(clock)
    listener(*to_bleak(ADDRESS, encode("pvvx", ADDRESS, Climate(19.5, 50.0), 1), -60))
    clock.advance(599)
    assert listener.check_stale() == []
    clock.advance(2)
    (change,) = listener.check_stale()
    assert change[0].id == "salle-t1"
    assert change[1] is True
    assert change[2] > 600
    assert metrics.get("gateway_ble_sensor_stale", sensor="salle-t1") == 1
    assert listener.check_stale() == []  # reported once
    # repeats of the last frame do not count as fresh
    listener(*to_bleak(ADDRESS, encode("pvvx", ADDRESS, Climate(19.5, 50.0), 1), -60))
    assert listener.check_stale() == []
    listener(*to_bleak(ADDRESS, encode("pvvx", ADDRESS, Climate(19.4, 50.0), 2), -60))
    (change,) = listener.check_stale()
    assert change[1] is False
    assert metrics.get("gateway_ble_sensor_stale", sensor="salle-t1") == 0
    assert len(rec.updates) == 2


def test_a_sensor_never_heard_becomes_stale() -> None:
    clock = ManualClock(datetime(2026, 11, 27, 8, tzinfo=UTC))
    listener, _, _ = make(clock)
    clock.advance(601)
    ((sensor, stale, _),) = listener.check_stale()
    assert sensor.id == "salle-t1"
    assert stale


class FakeRadio:
    """A radio that advertises until it 'silently stops', like BlueZ on a Pi."""

    instances: list[FakeRadio]

    def __init__(self, callback, dies_after: int | None) -> None:
        self.callback = callback
        self.dies_after = dies_after
        self.task: asyncio.Task[None] | None = None
        self.started = self.stopped = False

    async def start(self) -> None:
        self.started = True
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        packet = 0
        while self.dies_after is None or packet < self.dies_after:
            packet += 1
            self.callback(*to_bleak(ADDRESS, encode("bthome", ADDRESS, Climate(19.0 + packet / 10, 50.0), packet), -60))
            await asyncio.sleep(0.02)
        # then nothing, forever, without an error: the failure mode we guard against

    async def stop(self) -> None:
        self.stopped = True
        if self.task:
            self.task.cancel()


async def test_watchdog_restarts_a_silent_scanner() -> None:
    # Given a radio that stops after 3 adverts, and one that keeps going
    radios: list[FakeRadio] = []

    def factory(callback):
        radio = FakeRadio(callback, dies_after=3 if not radios else None)
        radios.append(radio)
        return radio

    scanner, rec, metrics = scanning(factory, watchdog_s=0.3, check_interval_s=0.05)
    # When the scanner runs past the watchdog time
    async with running(scanner):
        await asyncio.sleep(0.2)
        assert metrics.get("gateway_ble_adapter_up") == 1
        assert len(rec.updates) == 3
        await asyncio.sleep(0.5)
        # Then the first radio was stopped and a new one started, which delivers readings again
        assert scanner.restarts == 1
        assert metrics.get("gateway_ble_scanner_restarts_total") == 1
        assert radios[0].stopped
        assert radios[1].started
        assert len(rec.updates) > 3
    assert radios[1].stopped
    assert metrics.get("gateway_ble_adapter_up") == 0


async def test_watchdog_does_nothing_without_sensors() -> None:
    radios: list[FakeRadio] = []

    def factory(callback):
        radios.append(FakeRadio(callback, dies_after=0))
        return radios[-1]

    scanner, _, _ = scanning(factory, sensors=[], watchdog_s=0.1, check_interval_s=0.02)
    async with running(scanner):
        await asyncio.sleep(0.3)
    assert scanner.restarts == 0
    assert len(radios) == 1


class BrokenAdapter:
    def __init__(self, callback) -> None:
        self.callback = callback

    async def start(self) -> None:
        raise FileNotFoundError(2, "No such file or directory")  # what bleak says without D-Bus

    async def stop(self) -> None:
        return None


async def test_adapter_down_is_reported_and_retried_and_passive_falls_back_to_active(caplog) -> None:
    scanner, _, metrics = scanning(BrokenAdapter, watchdog_s=60)
    async with running(scanner):
        await asyncio.sleep(0.1)
        assert metrics.get("gateway_ble_adapter_up") == 0
        assert not scanner.adapter_up
        assert "FileNotFoundError" in (scanner.last_error or "")
    assert sum("BLE adapter unavailable" in r.message for r in caplog.records) == 1

    # passive refused, active works: the scanner keeps going actively
    scanner2, rec2, metrics2 = scanning(
        BrokenAdapter, watchdog_s=60, fallback_factory=lambda cb: FakeRadio(cb, dies_after=None)
    )
    async with running(scanner2):
        await asyncio.sleep(0.15)
        assert metrics2.get("gateway_ble_adapter_up") == 1
        assert rec2.updates


class HangingRadio:
    """BlueZ that never answers the D-Bus call."""

    def __init__(self, callback) -> None:
        self.callback = callback

    async def start(self) -> None:
        await asyncio.sleep(3600)

    async def stop(self) -> None:
        await asyncio.sleep(3600)


async def test_a_hanging_adapter_is_timed_out_and_reported() -> None:
    scanner, _, _ = scanning(HangingRadio, watchdog_s=60, radio_timeout_s=0.05)
    async with running(scanner) as task:
        await asyncio.sleep(0.2)
        assert not scanner.adapter_up
        assert "TimeoutError" in (scanner.last_error or "")
    assert task.cancelled()


def test_an_implausible_temperature_is_dropped_counted_per_sensor_and_logged_once(caplog) -> None:
    # Given a thermometer whose probe reports 300 °C, then -100 °C, with a sound humidity
    clock = ManualClock(datetime(2026, 11, 27, 8, tzinfo=UTC))
    listener, rec, metrics = make(clock)
    caplog.set_level("WARNING", logger="drivers.ble")
    for packet, temperature in enumerate([300.0, -100.0, 300.0], start=1):
        listener(*to_bleak(ADDRESS, encode("bthome", ADDRESS, Climate(temperature, 55.0), packet), -60))
        clock.advance(30)
    # Then no temperature is published, the humidity is, and each rejection is counted for that sensor
    assert rec.updates
    assert all(u.decoded.climate == {"humidity_pct": 55.0, "battery_pct": 87.0} for u in rec.updates)
    assert metrics.get("gateway_ble_implausible_total", sensor="salle-t1", field="temperature_c") == 3
    warnings = [r.getMessage() for r in caplog.records if "implausible" in r.getMessage()]
    assert warnings == [
        "salle-t1: implausible temperature_c = 300 rejected; counted in gateway_ble_implausible_total, "
        "logged at most once an hour"
    ]


def bthome_temperature(celsius: float, packet: int) -> Advert:
    """A BTHome v2 advert carrying its packet id and one temperature (0.01 °C, sint16)."""
    value = round(celsius * 100).to_bytes(2, "little", signed=True)
    return Advert({uuid128_of(0xFCD2): bytes((0x40, 0x00, packet & 0xFF, 0x02)) + value}, {})


def test_a_sensor_sending_only_implausible_values_goes_stale_like_a_silent_one() -> None:
    clock = ManualClock(datetime(2026, 11, 27, 8, tzinfo=UTC))
    listener, rec, metrics = make(clock)
    listener(*to_bleak(ADDRESS, bthome_temperature(19.5, 1), -60))
    for packet in range(2, 70):  # then only 300 °C, every 10 s
        clock.advance(10)
        listener(*to_bleak(ADDRESS, bthome_temperature(300.0, packet), -60))
    ((sensor, stale, silent),) = listener.check_stale()
    assert (sensor.id, stale) == ("salle-t1", True)
    assert silent > 600
    assert [u.decoded.climate for u in rec.updates] == [{"temperature_c": 19.5}]
    assert metrics.get("gateway_ble_rejected_total", reason="implausible") == 68
    assert metrics.get("gateway_ble_implausible_total", sensor="salle-t1", field="temperature_c") == 68


def test_a_value_that_is_not_a_number_is_never_published() -> None:
    # no shipped format can carry a NaN today; a decoder that produced one must still stop it
    from drivers.ble_decode import AdvertDecoder

    decoded = AdvertDecoder()._to_decoded(
        ADDRESS, -60, {"temperature": float("nan"), "humidity": 48.0, "firmware": "BTHome V2"}, "bthome"
    )
    assert decoded.climate == {"humidity_pct": 48.0}
    assert [name for name, _ in decoded.implausible] == ["temperature_c"]
