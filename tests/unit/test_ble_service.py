"""The BLE subsystem in the core: configuration -> simulated radio (real bytes) -> state and events."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.clock import ManualClock
from gateway.config import parse_config
from gateway.core import Core
from gateway.errors import ConfigError
from gateway.hooks import Hooks
from gateway.services import ble as ble_service
from tests.support.village import JournalRecorder, hall, recorded_core, site

BASE = (
    site()
    + hall(kind=None, sensor=None)
    + """[buildings.mairie]
name = "Mairie"
[buildings.mairie.zones.bureaux]
name = "Bureaux"
"""
)

SENSORS = """
[ble]
heartbeat_s = 60
[[ble.sensors]]
id = "salle-t1"
address = "a4:c1:38:02:83:f4"
format = "pvvx"
building = "salle"
zone = "grande_salle"
stale_after_s = 600
[[ble.sensors]]
id = "mairie-t1"
address = "54:48:E6:8F:80:A5"
format = "bthome"
bindkey = "231d39c1d7cc1ab1aee224cd096db932"
building = "mairie"
zone = "bureaux"
[[ble.sensors]]
id = "mairie-t2"
address = "A4:C1:38:B4:94:4C"
format = "mibeacon"
bindkey_file = "KEYFILE"
building = "mairie"
zone = "bureaux"
"""


@pytest.fixture
def keyfile(tmp_path: Path) -> Path:
    path = tmp_path / "mairie-t2.key"
    path.write_text("e9ea895fac7cca6d30532432a516f3a8\n")
    os.chmod(path, 0o600)
    return path


def config_with(keyfile: Path, extra: str = ""):
    return parse_config(BASE + SENSORS.replace("KEYFILE", str(keyfile)) + extra)


def test_configuration_accepts_sensors_and_normalises_addresses(keyfile: Path) -> None:
    config = config_with(keyfile)
    assert config.ble.sensors[0].address == "A4:C1:38:02:83:F4"
    assert config.ble.sensors[2].key() == bytes.fromhex("e9ea895fac7cca6d30532432a516f3a8")


@pytest.mark.parametrize(
    ("snippet", "complaint"),
    [
        ('id = "x"\naddress = "A4:C1:38:02:83"\nbuilding = "salle"', "not a MAC address"),
        ('id = "x"\naddress = "A4:C1:38:02:83:F5"\nbuilding = "nowhere"', "no building 'nowhere'"),
        ('id = "x"\naddress = "A4:C1:38:02:83:F5"\nbuilding = "salle"\nzone = "cave"', "has no zone 'cave'"),
        ('id = "salle-t1"\naddress = "A4:C1:38:02:83:F5"\nbuilding = "salle"', "already used"),
        ('id = "x"\naddress = "A4:C1:38:02:83:F4"\nbuilding = "salle"', "is already ble.sensors[0]"),
        ('id = "x"\naddress = "A4:C1:38:02:83:F5"\nbuilding = "salle"\nbindkey = "abc"', "32 hex digits"),
        ('id = "x"\naddress = "A4:C1:38:02:83:F5"\nbuilding = "salle"\nstale_after_s = 60', "must exceed"),
    ],
)
def test_configuration_errors_are_located(keyfile: Path, snippet: str, complaint: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_with(keyfile, "[[ble.sensors]]\n" + snippet + "\n")
    assert complaint in str(info.value)
    assert "ble.sensors[3]" in str(info.value)


def test_a_bind_key_file_readable_by_others_is_refused(keyfile: Path) -> None:
    os.chmod(keyfile, 0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        config_with(keyfile)


def make_core(config) -> tuple[Core, JournalRecorder, ManualClock]:
    return recorded_core(config, datetime(2026, 11, 27, 8, tzinfo=UTC))


async def test_demo_sensors_feed_the_zones_through_the_real_decode_path(keyfile: Path) -> None:
    # Given the demo's thermal model saying 17.3 °C in the mairie and nothing for the salle
    config = config_with(keyfile)
    core, journal, _clock = make_core(config)
    zones = {("mairie", "bureaux"): 17.3}
    silenced: set[str] = set()
    hooks = Hooks(sim_ble_interval_s=0.02, sim_zone_temperature=lambda b, z: zones.get((b, z)))
    (service,) = ble_service.build(config, core, hooks=hooks, demo=True, silenced=silenced)
    # When the BLE service runs a moment
    task = asyncio.create_task(service.run())
    await asyncio.sleep(0.2)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    # Then every sensor (pvvx clear, BTHome and MiBeacon encrypted) fed its zone
    snap = core.state.snapshot()
    assert snap.value("mairie-t1", "temperature_c").value == pytest.approx(17.3, abs=0.15)
    assert snap.value("mairie-t2", "temperature_c").value == pytest.approx(17.3, abs=0.15)
    salle = snap.value("salle-t1", "temperature_c")
    assert 14 < salle.value < 23  # the plausible model
    assert dict(salle.tags) == {
        "site": "saint-martin",
        "building": "salle",
        "zone": "grande_salle",
        "device": "salle-t1",
    }
    assert salle.measurement == "climate"
    assert snap.value("salle-t1", "rssi_dbm") is not None
    # and repeats were coalesced: each frame is sent twice, journaled once
    assert core.metrics.get("gateway_ble_coalesced_total", sensor="mairie-t1", why="same_packet") >= 1
    assert core.metrics.get("gateway_ble_rejected_total", reason="undecryptable") == 0
    counters = [r for r in journal.readings if r.tag("device") == "mairie-t1"]
    assert len(counters) == core.metrics.get("gateway_ble_readings_total", sensor="mairie-t1")
    # a dead battery: the silenced sensor stops advertising, the others go on
    silenced.add("salle-t1")
    before = {d: core.metrics.get("gateway_ble_readings_total", sensor=d) for d in ("salle-t1", "mairie-t1")}
    task = asyncio.create_task(service.run())
    await asyncio.sleep(0.2)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert core.metrics.get("gateway_ble_readings_total", sensor="salle-t1") == before["salle-t1"]
    assert core.metrics.get("gateway_ble_readings_total", sensor="mairie-t1") > before["mairie-t1"]


def test_binary_states_go_to_the_input_measurement(keyfile: Path) -> None:
    from drivers.ble import SensorUpdate
    from drivers.ble_decode import AdvertDecoder
    from drivers.ble_hci import uuid128_of

    config = config_with(keyfile)
    core, journal, clock = make_core(config)
    (service,) = ble_service.build(config, core, hooks=Hooks(ble_radio_factory=lambda cb: None))
    decoded = AdvertDecoder().decode(
        "54:48:E6:8F:80:A5",
        -60,
        service_data={uuid128_of(0xFCD2): bytes.fromhex("402d01")},
        manufacturer_data={},
    )
    sensor = service.listener.sensors["54:48:E6:8F:80:A5"]
    service._publish(SensorUpdate(sensor, decoded, clock.time_ns()))
    (row,) = journal.readings
    assert row.measurement == "input"
    assert row.field_map() == {"window_open": True}
    assert row.tag("zone") == "bureaux"


def test_a_silent_sensor_raises_stale_once_and_recovered(keyfile: Path) -> None:
    from drivers.sim.ble_adverts import Climate, encode, to_bleak

    config = config_with(keyfile)
    core, _journal, clock = make_core(config)
    (service,) = ble_service.build(config, core, hooks=Hooks(ble_radio_factory=lambda cb: None))
    address = "A4:C1:38:02:83:F4"
    service.listener(*to_bleak(address, encode("pvvx", address, Climate(19.0, 50.0), 1), -60))
    clock.advance(601)
    service.scanner.check_stale()
    service.scanner.check_stale()
    kinds = [(e.kind, e.subject) for e in core.recent_events]
    assert kinds.count(("sensor_stale", "salle-t1")) == 1
    assert "salle-t1" in core.state.snapshot().unavailable
    service.listener(*to_bleak(address, encode("pvvx", address, Climate(19.1, 50.0), 2), -60))
    service.scanner.check_stale()
    assert ("sensor_recovered", "salle-t1") in [(e.kind, e.subject) for e in core.recent_events]
    assert "salle-t1" not in core.state.snapshot().unavailable


def test_no_sensors_no_service() -> None:
    config = parse_config(BASE)
    core, _, _ = make_core(config)
    assert ble_service.build(config, core, hooks=Hooks()) == []
