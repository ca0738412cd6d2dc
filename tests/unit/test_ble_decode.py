"""Real advertisement bytes -> readings, through the same callback bleak calls.

Vectors: bleparser's published tests (Ernst79/bleparser package/tests/test_*_parser.py, as
raw HCI reports), the Ruuvi data format 5 specification's test vector and bthome.io examples.
Each HCI vector is first turned into bleak's ``BLEDevice``/``AdvertisementData`` (what BlueZ
hands us), then goes through :class:`AdvertListener` exactly as in production.
"""

from __future__ import annotations

from dataclasses import asdict

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleparser import BleParser

from drivers.ble import AdvertListener, BleSensor, SensorUpdate
from drivers.ble_decode import AdvertDecoder
from drivers.ble_hci import hci_report, parse_hci_report, uuid128_of
from gateway.clock import ManualClock
from gateway.metrics import Metrics

BTHOME_KEY = bytes.fromhex("231d39c1d7cc1ab1aee224cd096db932")
MIBEACON_KEY = bytes.fromhex("e9ea895fac7cca6d30532432a516f3a8")

# (name, HCI report from bleparser's tests, bind key, expected format, expected readings)
VECTORS = [
    (
        "bthome v2 temperature+humidity",
        "043E1A02010000A5808FE648540E0201060A16D2FC4002CA0903BF13CC",
        None,
        "bthome",
        {"temperature_c": 25.06, "humidity_pct": 50.55},
    ),
    (
        "bthome v2 battery",
        "043E1802010000A5808FE648540C0201060816D2FC4000090161CC",
        None,
        "bthome",
        {"battery_pct": 97.0},
    ),
    (
        "bthome v2 encrypted",
        "043E2202010000A5808FE64854160201061216d2fc41a47266c95f730011223378237214CC",
        BTHOME_KEY,
        "bthome",
        {"temperature_c": 25.06, "humidity_pct": 50.55},
    ),
    (
        "bthome v2 motion",
        "043E1602010000A5808FE648540A0201060616D2FC402101CC",
        None,
        "bthome",
        {"motion": True},
    ),
    (
        "atc1441",
        "043e1d02010000f4830238c1a41110161a18a4c1380283f400a22f5f0bf819df",
        None,
        "atc1441",
        {"temperature_c": 16.2, "humidity_pct": 47.0, "battery_v": 3.064, "battery_pct": 95.0},
    ),
    (
        "pvvx custom",
        "043e1f02010000f4830238c1a41312161a18f4830238c1a4a9066911b60b58f70dde",
        None,
        "pvvx",
        {"temperature_c": 17.05, "humidity_pct": 44.57, "battery_v": 2.998, "battery_pct": 88.0},
    ),
    (
        "pvvx custom v2.9",
        "043E2202010000B2188D38C1A41602010612161A18B2188D38C1A42B089011F70A43200FC2",
        None,
        "pvvx",
        {"temperature_c": 20.91, "humidity_pct": 44.96, "battery_v": 2.807, "battery_pct": 67.0},
    ),
    (
        "mibeacon v3 LYWSD03MMC",
        "043e22020100004c94b438c1a416151695fe50305b05034c94b438c1a40d10041001ea01cf",
        None,
        "mibeacon",
        {"temperature_c": 27.2, "humidity_pct": 49.0},
    ),
    (
        "mibeacon v5 encrypted LYWSD03MMC",
        "043e2a02010000f4830238c1a41e0201061a1695fe58585b0550f4830238c1a495ef58763c26000097e2abb5e2",
        MIBEACON_KEY,
        "mibeacon",
        {"humidity_pct": 46.7},
    ),
    (
        "ruuvi v5",
        "043E2B02010301F27A52FAD4CD1F0201061BFF990405138A5F61C4F0FFE4FFDC0414C5B6EC29B3F27A52FAD4CDBC",
        None,
        "ruuvi",
        {"temperature_c": 25.01, "humidity_pct": 61.04, "pressure_hpa": 1004.16, "battery_v": 3.181},
    ),
]


def bleak_objects(report_hex: str) -> tuple[BLEDevice, AdvertisementData]:
    """What BlueZ would have handed bleak's callback for this on-air report."""
    f = parse_hci_report(bytes.fromhex(report_hex))
    device = BLEDevice(f.address, f.local_name, details=None)
    adv = AdvertisementData(
        local_name=f.local_name,
        manufacturer_data=f.manufacturer_data,
        service_data=f.service_data,
        service_uuids=f.service_uuids or list(f.service_data),
        tx_power=None,
        rssi=f.rssi,
        platform_data=(),
    )
    return device, adv


class Recorder:
    """The boundary: what the listener hands on for publishing."""

    def __init__(self) -> None:
        self.updates: list[SensorUpdate] = []

    def __call__(self, update: SensorUpdate) -> None:
        self.updates.append(update)


def listener_for(address: str, key: bytes | None = None, **kw: object) -> tuple[AdvertListener, Recorder, Metrics]:
    from datetime import UTC, datetime

    rec, metrics = Recorder(), Metrics()
    clock = kw.pop("clock", None) or ManualClock(datetime(2026, 11, 27, 8, tzinfo=UTC))
    listener = AdvertListener(
        sensors=[BleSensor("t1", address, bindkey=key)], on_update=rec, metrics=metrics, clock=clock, **kw
    )  # type: ignore[arg-type]
    return listener, rec, metrics


@pytest.mark.parametrize(("name", "report", "key", "fmt", "expected"), VECTORS, ids=[v[0] for v in VECTORS])
def test_published_vector_through_bleak_callback(name, report, key, fmt, expected) -> None:
    # Given a configured sensor and the bleak objects of a published advertisement
    device, adv = bleak_objects(report)
    listener, rec, metrics = listener_for(device.address, key)
    # When bleak calls the detection callback
    listener(device, adv)
    # Then one reading with the published values comes out
    assert len(rec.updates) == 1, metrics.items()
    decoded = rec.updates[0].decoded
    assert decoded.format == fmt
    assert decoded.rssi_dbm == adv.rssi
    got = decoded.readings()
    for quantity, value in expected.items():
        assert got[quantity] == pytest.approx(value), quantity
    assert decoded.encrypted is (key is not None)


@pytest.mark.parametrize("report", [v[1] for v in VECTORS], ids=[v[0] for v in VECTORS])
def test_adapter_gives_bleparser_the_same_result_as_the_original_report(report) -> None:
    """The HCI report rebuilt from bleak's fields parses exactly like bleparser's own vector."""
    keys = {bytes.fromhex(k): v for k, v in (("5448E68F80A5", BTHOME_KEY), ("A4C1380283F4", MIBEACON_KEY))}
    original, _ = BleParser(aeskeys=keys).parse_raw_data(bytes.fromhex(report))
    rebuilt = hci_report(**asdict(parse_hci_report(bytes.fromhex(report))))
    again, _ = BleParser(aeskeys=keys).parse_raw_data(rebuilt)
    assert again == original
    assert original["data"]


def test_ruuvi_specification_vector() -> None:
    """docs.ruuvi.com, data format 5, "valid data" test case."""
    payload = bytes.fromhex("0512FC5394C37C0004FFFC040CAC364200CDCBB8334C884F")
    decoded = AdvertDecoder().decode("CB:B8:33:4C:88:4F", -70, service_data={}, manufacturer_data={0x0499: payload})
    assert decoded is not None
    assert decoded.format == "ruuvi"
    assert decoded.climate["temperature_c"] == pytest.approx(24.3)
    assert decoded.climate["humidity_pct"] == pytest.approx(53.49)
    assert decoded.climate["pressure_hpa"] == pytest.approx(1000.44)
    assert decoded.climate["battery_v"] == pytest.approx(2.977)
    assert decoded.packet == 205


def test_bthome_window_from_the_specification() -> None:
    decoded = AdvertDecoder().decode(
        "54:48:E6:8F:80:A5",
        -60,
        service_data={uuid128_of(0xFCD2): bytes.fromhex("402d01")},
        manufacturer_data={},
    )
    assert decoded is not None
    assert decoded.binary == {"window_open": True}


BAD = [
    ("truncated", {uuid128_of(0xFCD2): b"\x40"}, {}),
    ("truncated", {uuid128_of(0x181A): bytes.fromhex("f4830238c1a4a90669")}, {}),
    ("truncated", {}, {0x0499: bytes.fromhex("0512FC5394")}),
    ("truncated", {uuid128_of(0xFE95): bytes.fromhex("50305b05")}, {}),
    ("malformed", {uuid128_of(0xFCD2): bytes.fromhex("0002ca09")}, {}),  # BTHome version 0
    ("malformed", {uuid128_of(0x181A): bytes(17)}, {}),  # no such ATC length
    ("no_bindkey", {uuid128_of(0xFCD2): bytes.fromhex("41a47266c95f730011223378237214")}, {}),
    ("implausible", {uuid128_of(0xFCD2): bytes.fromhex("40021027")}, {}),  # 100.00 °C
]


@pytest.mark.parametrize(("reason", "service", "manufacturer"), BAD)
def test_bad_payloads_are_counted_never_raised(reason, service, manufacturer) -> None:
    listener, rec, metrics = listener_for("54:48:E6:8F:80:A5")
    device = BLEDevice("54:48:E6:8F:80:A5", None, details=None)
    adv = AdvertisementData(
        local_name=None,
        manufacturer_data=manufacturer,
        service_data=service,
        service_uuids=list(service),
        tx_power=None,
        rssi=-60,
        platform_data=(),
    )
    listener(device, adv)  # must not raise
    assert rec.updates == []
    assert metrics.get("gateway_ble_rejected_total", reason=reason) == 1


def test_wrong_bind_key_is_counted_and_ignored() -> None:
    device, adv = bleak_objects(VECTORS[2][1])
    listener, rec, metrics = listener_for(device.address, bytes(16))
    listener(device, adv)
    assert rec.updates == []
    assert metrics.get("gateway_ble_rejected_total", reason="undecryptable") == 1


def test_wrong_mibeacon_key_is_counted_and_ignored() -> None:
    device, adv = bleak_objects(VECTORS[8][1])
    listener, rec, metrics = listener_for(device.address, bytes.fromhex("00" * 15 + "01"))
    listener(device, adv)
    assert rec.updates == []
    assert metrics.get("gateway_ble_rejected_total", reason="undecryptable") == 1


def test_unknown_devices_are_ignored_but_counted_as_heard() -> None:
    listener, rec, metrics = listener_for("11:22:33:44:55:66")
    device, adv = bleak_objects(VECTORS[0][1])
    listener(device, adv)
    assert rec.updates == []
    assert metrics.get("gateway_ble_adverts_total") == 1


def test_a_configured_format_filters_the_others() -> None:
    from drivers.ble import AdvertListener

    rec, metrics = Recorder(), Metrics()
    from datetime import UTC, datetime

    clock = ManualClock(datetime(2026, 11, 27, 8, tzinfo=UTC))
    listener = AdvertListener(
        sensors=[BleSensor("t1", "A4:C1:38:02:83:F4", format="pvvx")],
        on_update=rec,
        metrics=metrics,
        clock=clock,
    )
    listener(*bleak_objects(VECTORS[4][1]))  # atc1441 frame of the same thermometer
    listener(*bleak_objects(VECTORS[5][1]))  # pvvx frame
    assert [u.decoded.format for u in rec.updates] == ["pvvx"]
    assert metrics.get("gateway_ble_ignored_total", reason="other_format") == 1


def test_oversized_advert_is_rejected_not_raised() -> None:
    listener, rec, metrics = listener_for("54:48:E6:8F:80:A5")
    adv = AdvertisementData(
        local_name=None,
        manufacturer_data={i: bytes(30) for i in range(10)},
        service_data={uuid128_of(0xFCD2): bytes.fromhex("4002ca09")},
        service_uuids=[],
        tx_power=None,
        rssi=-60,
        platform_data=(),
    )
    listener(BLEDevice("54:48:E6:8F:80:A5", None, details=None), adv)
    assert metrics.get("gateway_ble_rejected_total", reason="too_large") == 1
    assert rec.updates == []


def test_module_examples() -> None:
    import doctest

    import drivers.ble_hci

    assert doctest.testmod(drivers.ble_hci).failed == 0
