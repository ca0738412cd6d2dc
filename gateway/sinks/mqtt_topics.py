"""Readings and events -> MQTT topics and payloads; Home Assistant discovery. Pure, no I/O.

Topic layout (``<p>`` = ``topic_prefix``/``site``)::

    <p>/status                                   "online" / "offline" (retained, last will)
    <p>/<building>/<zone>/<quantity>             latest value (retained), e.g. .../grande_salle/temperature_c
    <p>/<building>/<device>/<quantity>           a reading without a zone (a building's meter): the
                                                 device id takes the zone's place
    <p>/<building>/<zone>/relay_<relay>          a relay's state ("true"/"false")
    <p>/events                                   one JSON object per event (not retained)
    <p>/<building>/<zone>/override/set           commands in (see gateway.control.mqtt_commands)

Payloads: numbers as plain text (``19.25``), booleans ``true``/``false``, strings as they are.
Rules: only the measurements ``meter``, ``climate``, ``input`` and ``relay`` are state; ``event``
rows become event messages; anything else stays out of MQTT, and so do qualifying fields
(``clock_unsynced``: the value is still published, the flag is in the journal).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from gateway.clock_guard import UNSYNCED_FIELD
from gateway.model import FieldValue, Reading

STATE_MEASUREMENTS = frozenset({"meter", "climate", "input", "relay"})
#: Fields that qualify a reading rather than measure something: not published as state.
METADATA_FIELDS = frozenset({UNSYNCED_FIELD})

#: quantity suffix -> (unit, Home Assistant device class, state class)
_UNITS: dict[str, tuple[str | None, str | None, str | None]] = {
    "temperature_c": ("°C", "temperature", "measurement"),
    "humidity_pct": ("%", "humidity", "measurement"),
    "battery_pct": ("%", "battery", "measurement"),
    "battery_v": ("V", "voltage", "measurement"),
    "rssi_dbm": ("dBm", "signal_strength", "measurement"),
    "pressure_hpa": ("hPa", "atmospheric_pressure", "measurement"),
    "power_factor": (None, "power_factor", "measurement"),
}
_SUFFIXES: list[tuple[str, tuple[str | None, str | None, str | None]]] = [
    ("_kwh", ("kWh", "energy", "total_increasing")),
    ("_w", ("W", "power", "measurement")),
    ("_v", ("V", "voltage", "measurement")),
    ("_a", ("A", "current", "measurement")),
    ("_hz", ("Hz", "frequency", "measurement")),
    ("_m3", ("m³", "water", "total_increasing")),
    ("_c", ("°C", "temperature", "measurement")),
    ("_pct", ("%", None, "measurement")),
]
_BINARY_CLASSES = {"window_open": "window", "motion": "motion"}


def payload_of(value: FieldValue) -> str:
    """The text published for a value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


@dataclass(frozen=True, slots=True)
class StateMessage:
    """One retained state value."""

    topic: str
    payload: str
    building: str
    segment: str  # zone, or the device id when there is no zone
    quantity: str
    binary: bool


@dataclass(frozen=True, slots=True)
class Topics:
    """The topic names of one site under one prefix.

    >>> Topics("village", "st-martin").state("salle", "grande_salle", "temperature_c")
    'village/st-martin/salle/grande_salle/temperature_c'
    """

    prefix: str
    site: str

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.site}"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def events(self) -> str:
        return f"{self.base}/events"

    @property
    def override_filter(self) -> str:
        """The subscription for zone override commands."""
        return f"{self.base}/+/+/override/set"

    def state(self, building: str, segment: str, quantity: str) -> str:
        return f"{self.base}/{building}/{segment}/{quantity}"

    def override_subject(self, topic: str) -> tuple[str, str] | None:
        """``(building, zone)`` of an override command topic, or ``None``."""
        head = self.base + "/"
        if not topic.startswith(head) or not topic.endswith("/override/set"):
            return None
        parts = topic[len(head) : -len("/override/set")].split("/")
        if len(parts) != 2 or not all(parts):
            return None
        return parts[0], parts[1]

    def state_messages(self, reading: Reading) -> Iterator[StateMessage]:
        """The retained messages a reading updates (none for non-state measurements)."""
        if reading.measurement not in STATE_MEASUREMENTS:
            return
        building = reading.tag("building")
        device = reading.tag("device")
        if not building or not device:
            return
        segment = reading.tag("zone") or device
        if reading.measurement == "relay":
            on = reading.field_map().get("on")
            if isinstance(on, bool):
                quantity = f"relay_{device}"
                yield StateMessage(
                    self.state(building, segment, quantity), payload_of(on), building, segment, quantity, True
                )
            return
        for name, value in reading.fields:
            if name in METADATA_FIELDS:
                continue
            yield StateMessage(
                self.state(building, segment, name),
                payload_of(value),
                building,
                segment,
                name,
                isinstance(value, bool),
            )

    def event_payload(self, reading: Reading) -> str | None:
        """The JSON of an ``event`` row, or ``None`` for other rows."""
        if reading.measurement != "event":
            return None
        fields = reading.field_map()
        message = fields.pop("message", "")
        severity = fields.pop("severity", "info")
        return json.dumps(
            {
                "time": datetime.fromtimestamp(reading.time_ns / 1e9, UTC).isoformat(timespec="milliseconds"),
                "kind": reading.tag("kind"),
                "subject": reading.tag("subject"),
                "severity": severity,
                "message": message,
                "data": fields,
            },
            ensure_ascii=False,
        )

    def discovery(self, ha_prefix: str, msg: StateMessage, *, names: dict[str, str]) -> tuple[str, str]:
        """Home Assistant MQTT discovery ``(config topic, JSON)`` for one state topic.

        ``names`` maps ``building`` and ``building/zone`` to display names.
        """
        object_id = f"{self.site}_{msg.building}_{msg.segment}_{msg.quantity}".replace("-", "_")
        device_id = f"{self.site}_{msg.building}_{msg.segment}".replace("-", "_")
        where = names.get(f"{msg.building}/{msg.segment}") or msg.segment
        building = names.get(msg.building) or msg.building
        config: dict[str, object] = {
            "name": msg.quantity.replace("_", " "),
            "unique_id": object_id,
            "object_id": object_id,
            "state_topic": msg.topic,
            "availability_topic": self.status,
            "payload_available": "online",
            "payload_not_available": "offline",
            "device": {
                "identifiers": [device_id],
                "name": f"{building} – {where}",
                "manufacturer": "village-gateway",
                "suggested_area": building,
            },
        }
        if msg.binary:
            component = "binary_sensor"
            config.update(payload_on="true", payload_off="false")
            device_class = _BINARY_CLASSES.get(msg.quantity, "power" if msg.quantity.startswith("relay_") else None)
            if device_class:
                config["device_class"] = device_class
        else:
            component = "sensor"
            unit, device_class, state_class = unit_of(msg.quantity)
            for key, value in (
                ("unit_of_measurement", unit),
                ("device_class", device_class),
                ("state_class", state_class),
            ):
                if value:
                    config[key] = value
        return f"{ha_prefix}/{component}/{object_id}/config", json.dumps(config, ensure_ascii=False)


def unit_of(quantity: str) -> tuple[str | None, str | None, str | None]:
    """``(unit, device class, state class)`` from a quantity's name (units are in the names)."""
    if quantity in _UNITS:
        return _UNITS[quantity]
    for suffix, meta in _SUFFIXES:
        if quantity.endswith(suffix):
            return meta
    return None, None, None
