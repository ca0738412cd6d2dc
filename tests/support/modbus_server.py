"""Real Modbus servers for the tests: pymodbus on 127.0.0.1 (TCP) and over a socat pty pair (RTU).

Fixtures:
- ``raw_modbus_server``: start a server holding *raw registers at addresses the test writes by
  hand* (taken from the vendors' documents, independent of our profile files);
- ``sim_meters``: start :class:`drivers.sim.meters.SimulatedMeters` (profile-encoded values,
  silence, delayed replies) on a free port;
- ``rtu_pty``: a socat pty pair ``(server_end, client_end)`` for RTU tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import struct
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from drivers.sim.meters import SimMeter, SimulatedMeters
from tests.support.procs import free_port, require_tool, running

Table = Mapping[tuple[str, int], list[int]]  # ("holding"|"input", wire address) -> registers


def f32(value: float) -> list[int]:
    """A float32 as two registers, high word first."""
    (raw,) = struct.unpack(">I", struct.pack(">f", value))
    return [raw >> 16, raw & 0xFFFF]


def u32(value: int) -> list[int]:
    return [(value >> 16) & 0xFFFF, value & 0xFFFF]


def s32(value: int) -> list[int]:
    return u32(value & 0xFFFFFFFF)


def u64(value: int) -> list[int]:
    return [(value >> s) & 0xFFFF for s in (48, 32, 16, 0)]


def s64(value: int) -> list[int]:
    return u64(value & 0xFFFFFFFFFFFFFFFF)


class RawServer:
    """A pymodbus TCP server whose devices hold exactly the registers given; records requests."""

    def __init__(self, devices: Mapping[int, Table], *, port: int) -> None:
        self.devices = devices
        self.port = port
        self.requests: list[tuple[int, int, int, int]] = []
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None

    def _blocks(self, table: Table, kind: str) -> list[Any]:
        from pymodbus.simulator import DataType, SimData

        cells = {
            addr + i: reg for (k, addr), regs in table.items() if k == kind for i, reg in enumerate(regs)
        }
        if not cells:
            return [SimData(0, values=0, datatype=DataType.REGISTERS)]
        low, high = min(cells), max(cells)
        values = [cells.get(a, 0) for a in range(low, high + 1)]
        return [SimData(low, values=values, datatype=DataType.REGISTERS)]

    async def _record(self, unit: int, fc: int, _start: int, address: int, count: int, *_: Any) -> None:
        self.requests.append((unit, fc, address, count))

    async def __aenter__(self) -> RawServer:
        from pymodbus.server import ModbusTcpServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        bits = [SimData(0, count=16, values=False, datatype=DataType.BITS)]
        devices = [
            SimDevice(
                unit,
                simdata=(bits, list(bits), self._blocks(table, "holding"), self._blocks(table, "input")),
                action=functools.partial(self._record, unit),
            )
            for unit, table in self.devices.items()
        ]
        self._server = ModbusTcpServer(devices, address=("127.0.0.1", self.port))
        self._task = asyncio.create_task(self._server.serve_forever())
        for _ in range(200):
            if self._server.is_active():
                break
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await self._server.shutdown()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task


@pytest.fixture
async def raw_modbus_server() -> AsyncIterator[Callable[[Mapping[int, Table]], Awaitable[RawServer]]]:
    """``server = await raw_modbus_server({unit: {("input", 0x0000): f32(230.1)}})``."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(devices: Mapping[int, Table]) -> RawServer:
            return await stack.enter_async_context(RawServer(devices, port=free_port()))

        yield start


@pytest.fixture
async def sim_meters() -> AsyncIterator[Callable[..., Awaitable[SimulatedMeters]]]:
    """``sim = await sim_meters([SimMeter(1, profile)], **kwargs)`` on a free TCP port (``sim.port``)."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(meters: Iterable[SimMeter], **kwargs: Any) -> SimulatedMeters:
            kwargs.setdefault("port", free_port())
            return await stack.enter_async_context(SimulatedMeters(list(meters), **kwargs))

        yield start


@pytest.fixture
def rtu_pty(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A socat pty pair: ``(server_end, client_end)``, like two ends of an RS-485 line."""
    socat = require_tool("socat")
    server_end, client_end = tmp_path / "ttyS_server", tmp_path / "ttyS_client"
    argv = [socat, "-d", "-d", f"pty,raw,echo=0,link={server_end}", f"pty,raw,echo=0,link={client_end}"]
    with running(argv, log=tmp_path / "socat.log"):
        deadline = time.monotonic() + 10
        while not (server_end.exists() and client_end.exists()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"socat made no pty pair: {(tmp_path / 'socat.log').read_text()}")
            time.sleep(0.02)
        yield str(server_end), str(client_end)
