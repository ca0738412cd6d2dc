"""MQTT topic mapping and command validation, pure (no broker)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.control.mqtt_commands import CommandError, parse_override
from gateway.model import Reading
from gateway.schema.mqtt import MqttSinkConfig
from gateway.sinks.mqtt_topics import Topics, unit_of

T = Topics("village", "saint-martin")
NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")
TIME_NS = 1_790_000_000_000_000_000


def reading(measurement: str, fields: dict, **tags: str) -> Reading:
    return Reading.make(measurement, {"site": "saint-martin", **tags}, fields, time_ns=TIME_NS)


def test_zone_reading_topics_and_payloads() -> None:
    r = reading(
        "climate",
        {"temperature_c": 19.25, "humidity_pct": 48.0, "rssi_dbm": -61, "clock_unsynced": True},
        building="salle",
        zone="grande_salle",
        device="salle-t1",
    )
    got = {m.topic: m.payload for m in T.state_messages(r)}
    assert got == {
        "village/saint-martin/salle/grande_salle/temperature_c": "19.25",
        "village/saint-martin/salle/grande_salle/humidity_pct": "48.0",
        "village/saint-martin/salle/grande_salle/rssi_dbm": "-61",
    }


def test_meter_without_zone_uses_its_device_id_and_relays_their_name() -> None:
    meter = reading("meter", {"power_w": 1520.5}, building="mairie", device="mairie-general")
    assert [m.topic for m in T.state_messages(meter)] == ["village/saint-martin/mairie/mairie-general/power_w"]
    relay = reading(
        "relay",
        {"on": True, "reason": "confort 19 °C"},
        building="salle",
        zone="grande_salle",
        device="salle-chauffage",
    )
    (msg,) = T.state_messages(relay)
    assert (msg.topic, msg.payload, msg.binary) == (
        "village/saint-martin/salle/grande_salle/relay_salle-chauffage",
        "true",
        True,
    )
    window = reading("input", {"window_open": False}, building="salle", zone="grande_salle", device="salle-t1")
    assert [m.payload for m in T.state_messages(window)] == ["false"]


def test_other_measurements_are_not_state_and_events_are_json() -> None:
    assert list(T.state_messages(reading("gateway", {"cpu_pct": 3.0}, device="pi"))) == []
    event = reading(
        "event",
        {"message": "flow all night", "severity": "alarm", "litres": 312},
        kind="leak_suspected",
        subject="ecole-eau",
    )
    assert list(T.state_messages(event)) == []
    body = json.loads(T.event_payload(event) or "")
    assert body["kind"] == "leak_suspected"
    assert body["data"] == {"litres": 312}
    assert body["time"].startswith("2026-")


def test_command_topics() -> None:
    assert T.override_filter == "village/saint-martin/+/+/override/set"
    assert T.override_subject("village/saint-martin/salle/grande_salle/override/set") == (
        "salle",
        "grande_salle",
    )
    assert T.override_subject("village/saint-martin/salle/override/set") is None
    assert T.override_subject("village/other/salle/grande_salle/override/set") is None


@pytest.mark.parametrize(
    ("quantity", "unit", "device_class"),
    [
        ("temperature_c", "°C", "temperature"),
        ("energy_import_kwh", "kWh", "energy"),
        ("power_w", "W", "power"),
        ("water_m3", "m³", "water"),
        ("battery_pct", "%", "battery"),
        ("frequency_hz", "Hz", "frequency"),
    ],
)
def test_units_from_names(quantity: str, unit: str, device_class: str) -> None:
    assert unit_of(quantity)[:2] == (unit, device_class)


def until(hours: float) -> str:
    return (NOW + timedelta(hours=hours)).isoformat()


@pytest.mark.parametrize(
    ("body", "mode", "setpoint"),
    [
        ({"mode": "confort", "until": until(3)}, "confort", None),
        ({"setpoint": 16, "until": until(3)}, None, 16.0),
        (
            {"mode": "reduit", "until": "2026-11-27T23:00", "label": "Loto"},
            "reduit",
            None,
        ),  # naive = Paris time
    ],
)
def test_valid_bodies(body: dict, mode: str | None, setpoint: float | None) -> None:
    req = parse_override("salle", "grande_salle", json.dumps(body).encode(), now=NOW, tz=PARIS)
    assert (req.mode, req.setpoint) == (mode, setpoint)
    assert req.until.tzinfo is not None


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (json.dumps({"until": until(3)}).encode(), "exactly one of"),
        (json.dumps({"mode": "confort", "setpoint": 19, "until": until(3)}).encode(), "exactly one of"),
        (json.dumps({"mode": "confort"}).encode(), "'until' is required"),
        # dates past or too far ahead: refused by the control façade's bound (tests/web/test_bounds.py)
        (json.dumps({"mode": "confort", "until": "tomorrow"}).encode(), "ISO-8601"),
        (json.dumps({"setpoint": "hot", "until": until(1)}).encode(), "must be a number"),
        (json.dumps({"setpoint": True, "until": until(1)}).encode(), "must be a number"),
        (json.dumps({"mode": "confort", "until": until(1), "label": "x" * 61}).encode(), "60 characters"),
        (json.dumps({"mode": "confort", "until": until(1), "force": True}).encode(), "unknown key"),
        (b"{" + b" " * 2000 + b"}", "too large"),
    ],
)
def test_invalid_bodies(body: bytes, complaint: str) -> None:
    with pytest.raises(CommandError, match=complaint):
        parse_override("salle", "grande_salle", body, now=NOW, tz=PARIS)


@pytest.mark.parametrize(
    ("extra", "complaint"),
    [
        ({"topic_prefix": "village/#"}, "topic levels"),
        ({"topic_prefix": "/village"}, "topic levels"),
        ({"password_file": "/etc/pw"}, "needs a username"),
        ({"ca_file": "/etc/ca.pem"}, "tls = false"),
    ],
)
def test_sink_configuration_is_checked(extra: dict, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        MqttSinkConfig.model_validate({"kind": "mqtt", "host": "127.0.0.1", **extra})


def test_module_examples() -> None:
    import doctest

    import gateway.sinks.mqtt_topics

    assert doctest.testmod(gateway.sinks.mqtt_topics).failed == 0
