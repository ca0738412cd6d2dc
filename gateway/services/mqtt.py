"""The MQTT subsystem: one :class:`gateway.sinks.mqtt.MqttSink` per enabled ``kind = "mqtt"`` sink.

The sink drains the journal from its own cursor (sink name = its key in ``[sinks]``). This builder
hands it what it must not look up itself: the Home Assistant discovery subjects (every zone's
temperature, every meter's quantities from its register map) and control's second face, the
command handler of :mod:`gateway.control.mqtt_commands` over the control façade (built before
the sinks by the daemon).
"""

from __future__ import annotations

from drivers.modbus_profile import ProfileError
from gateway.config import GatewayConfig
from gateway.control.facade import Control
from gateway.control.mqtt_commands import CommandHandler
from gateway.core import Core
from gateway.schema.modbus import ModbusDeviceConfig
from gateway.schema.mqtt import MqttSinkConfig
from gateway.service import Service
from gateway.sinks.mqtt import MqttSink, Subject
from gateway.sinks.mqtt_topics import Topics


def build(config: GatewayConfig, core: Core, *, control: Control | None) -> list[Service]:
    """The configured (and enabled) MQTT sinks, each with its commands and discovery subjects."""
    journal = core.journal
    sinks = {name: s for name, s in config.sinks.items() if isinstance(s, MqttSinkConfig) and s.enabled}
    if not sinks:
        return []
    subjects = discovery_subjects(config)
    out: list[Service] = []
    for name, sink in sinks.items():
        topics = Topics(sink.topic_prefix, config.site.id)
        commands = CommandHandler(sink=name, core=core, topics=topics, control=control)
        out.append(MqttSink(name, sink, core=core, journal=journal, commands=commands, discovery=subjects))
    return out


def discovery_subjects(config: GatewayConfig) -> tuple[Subject, ...]:
    """Every zone's temperature and every enabled meter's quantities (from its register map)."""
    subjects: list[Subject] = [
        (building_id, zone_id, "temperature_c")
        for building_id, building in config.buildings.items()
        for zone_id in building.zones
    ]
    for bus in config.buses.values():
        for device in bus.devices:
            if device.enabled:
                subjects.extend((device.building, device.zone or device.id, name) for name in _meter_fields(device))
    return tuple(subjects)


def _meter_fields(device: ModbusDeviceConfig) -> tuple[str, ...]:
    """The quantities a configured meter publishes (from its register map); none if unknown."""
    try:
        profile = device.meter_profile
    except (ProfileError, OSError, ValueError):
        return ()
    return tuple(field.name for field in profile.fields)
