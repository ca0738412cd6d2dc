"""Sinks drain the journal, each from its own cursor: InfluxDB (v1 and v2 APIs), MQTT.

``build_influx_sinks(config, core, journal)`` is re-exported lazily so that importing this
package costs nothing when no InfluxDB sink is configured.
"""

from __future__ import annotations

from typing import Any


def build_influx_sinks(config: Any, core: Any, journal: Any) -> list[Any]:
    """The configured (and enabled) InfluxDB sinks as services; see :mod:`gateway.sinks.influx`."""
    from gateway.sinks.influx import build_influx_sinks as build

    return build(config, core, journal)
