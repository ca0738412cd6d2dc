"""The W1 workload's configuration — ten meters of 20 values polled every second over Modbus TCP, the
journal, one InfluxDB v1 sink — shared by bench/sd_wear.py, bench/modbus_poll.py and the lean-imports
test, so that the figures and the test speak of the same daemon."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

#: the meters' Modbus unit ids
W1_UNITS = range(1, 11)

_HEAD = """
[site]
id = "w1"
name = "W1"
latitude = 47.39
longitude = 0.98
[buildings.mairie]
name = "Mairie"
kind = "mairie"
[sinks.local]
kind = "influx-v1"
url = "http://127.0.0.1:{influx_port}"
database = "village"
[ble]
enabled = false
[web]
listen = "127.0.0.1:{web_port}"
[service]
state_dir = "{state_dir}"
"""

_BUS = """
[buses.w1]
kind = "tcp"
host = "127.0.0.1"
port = {port}
timeout_s = 1.0
"""

_DEVICE = """
[[buses.w1.devices]]
id = "meter-{unit:02d}"
unit = {unit}
profile = "{profile}"
building = "mairie"
interval_s = 1
"""


def w1_config(
    *,
    influx_port: int,
    web_port: int,
    state_dir: Path | str,
    modbus_port: int | None = None,
    profile: str = "sdm630",
    units: Iterable[int] = W1_UNITS,
    journal: str = "",
) -> str:
    """W1's TOML. Without ``modbus_port`` no bus is declared (a bench that builds its poller itself);
    ``journal``: the body of a ``[journal]`` table, if any."""
    text = _HEAD.format(influx_port=influx_port, web_port=web_port, state_dir=state_dir)
    if journal:
        text += f"[journal]\n{journal.strip()}\n"
    if modbus_port is not None:
        text += _BUS.format(port=modbus_port)
        text += "".join(_DEVICE.format(unit=unit, profile=profile) for unit in units)
    return text
