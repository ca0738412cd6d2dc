"""Builders turning configuration into services, one module per subsystem.

Each module's ``build(config, core, *, ...)`` takes, as typed keyword arguments, the parts built
before it (the control façade, the clock guard, the archive, the hooks) and returns its services
(or a small frozen value holding them and what later builders need). :meth:`gateway.daemon.Daemon.build`
calls them explicitly, in order: control (relay boot states were claimed before anything), system,
Modbus, BLE, the journal and sinks, reporting, MQTT, the admin page; ``prepare()`` runs in that
order too.
"""
