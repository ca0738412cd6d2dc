"""Shared fixtures. Server fixtures live in tests/support/<server>.py and are plugins here."""

from __future__ import annotations

pytest_plugins = [
    "tests.support.modbus_server",
    "tests.support.influx_servers",
    "tests.support.mosquitto",
    "tests.support.history",
]
