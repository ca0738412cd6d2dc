"""Modbus meters: the public face of the driver (pymodbus TCP and RTU).

The driver is split by concept:

- :mod:`drivers.modbus_profile` — register maps as data files, decoding, units;
- :mod:`drivers.modbus_plan` — block coalescing by a cost rule, computed once per device;
- :mod:`drivers.modbus_link` — one line, one request at a time, the connection dropped on timeout;
- :mod:`drivers.modbus_bus` — one task per bus: schedules, backoff, logging once per state change.

This module adds :func:`read_once` (used by ``village-gateway modbus-read``) and re-exports the
names the shell needs.
"""

from __future__ import annotations

from drivers.modbus_bus import BusPoller, BusSpec, DeviceSpec, Reporter
from drivers.modbus_link import ModbusLink, ReadError, RtuLink, TcpLink
from drivers.modbus_plan import plan_blocks
from drivers.modbus_profile import Profile, ProfileError, load_profile, profile_names

__all__ = [
    "BusPoller",
    "BusSpec",
    "DeviceSpec",
    "ModbusLink",
    "Profile",
    "ProfileError",
    "ReadError",
    "Reporter",
    "RtuLink",
    "TcpLink",
    "load_profile",
    "plan_blocks",
    "profile_names",
    "read_once",
]


async def read_once(
    link: TcpLink | RtuLink, *, unit: int, profile: Profile, timeout_s: float = 1.0
) -> dict[str, float | None]:
    """Read every field of ``profile`` from ``unit`` once; raise :class:`ReadError` if it does not answer.

    Missing values (not-available markers, non-finite floats) are ``None``.
    """
    async with ModbusLink(link, timeout_s=timeout_s) as line:
        values: dict[str, float | None] = {}
        blocks = plan_blocks(profile.fields, bus_kind=link.kind)
        try:
            responses = [
                (b, await line.read(unit=unit, function_code=b.function_code, start=b.start, count=b.count))
                for b in blocks
            ]
        except ReadError as exc:
            if exc.kind != "exception" or exc.code != 2:
                raise
            blocks = plan_blocks(profile.fields, bus_kind=link.kind, read_gaps=False)
            responses = [
                (b, await line.read(unit=unit, function_code=b.function_code, start=b.start, count=b.count))
                for b in blocks
            ]
        for block, registers in responses:
            for name, value, _reason in block.decode(registers):
                values[name] = value
        return values
