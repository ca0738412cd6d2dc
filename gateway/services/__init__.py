"""Builders turning configuration into services, one module per subsystem.

Each module defines ``build(config, core, options) -> list[Service]``. The daemon calls them
in :data:`SUBSYSTEMS` order; ``prepare()`` runs in that order too, so control (relay boot
states) comes first.
"""

SUBSYSTEMS = (
    "gateway.services.control",  # GPIO boot states, rules tick (issue 3)
    "gateway.services.system",  # clock, notify/watchdog, health (issue 6)
    "gateway.services.modbus",  # one task per bus (issue 2)
    "gateway.services.ble",  # passive scanner (issue 4)
    "gateway.services.sinks",  # journal group commit; InfluxDB v1/v2 sinks (issues 2, 7)
    "gateway.services.reporting",  # gateway_health and daily summaries for the intercommunality (issue 14)
    "gateway.services.mqtt",  # MQTT state, events, commands (issue 4)
    "gateway.services.web",  # admin page (issue 5)
)
