"""Sinks drain the journal, each from its own cursor: InfluxDB (v1 and v2 APIs), MQTT.

Sinks only carry data: they import neither ``drivers`` nor ``rules``, and control reaches MQTT
through :mod:`gateway.control` (the commands), never the other way round. Each is built by its
subsystem's builder in :mod:`gateway.services`.
"""
