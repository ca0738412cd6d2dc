"""The MQTT subsystem: one :class:`gateway.sinks.mqtt.MqttSink` per enabled ``kind = "mqtt"`` sink.

The sink drains the journal from its own cursor (sink name = its key in ``[sinks]``) and
reaches control only through the façade the control subsystem leaves in
``options.extras["control"]`` (built before us, see ``SUBSYSTEMS``).
"""

from __future__ import annotations

from typing import Any

from gateway.service import Service


def build(config: Any, core: Any, options: Any) -> list[Service]:
    """The MQTT sinks, or nothing when none is configured."""
    from gateway.schema.mqtt import MqttSinkConfig

    if not any(isinstance(s, MqttSinkConfig) and s.enabled for s in config.sinks.values()):
        return []
    from gateway.sinks.mqtt import build_mqtt_sinks

    extras = getattr(options, "extras", None) or {}
    return list(build_mqtt_sinks(config, core, core.journal, extras.get("control")))
