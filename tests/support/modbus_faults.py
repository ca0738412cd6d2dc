"""Misbehaving meters for the tests: a fault-injecting Modbus TCP proxy, and RTU faults for a real server.

A :class:`FaultPlan` says, per unit id, what each request gets (a cycle of actions, so
``plan.set(5, "pass", "pass", "late:1.5")`` is a meter failing one poll in three):

================  ==========================================================================
action            what the client sees
================  ==========================================================================
``pass``          the real pymodbus server's answer
``reset``         TCP: the connection is reset (RST) instead of an answer
``garble``        the answer with every byte XOR 0xA5 (TCP: a wrong MBAP header; RTU: bad CRC)
``garble-pdu``    TCP: a sound MBAP header with an unknown function code inside
``truncate``      the first half of the answer, then silence (the connection stays open)
``late:S``        the answer, ``S`` seconds late
``silent``        nothing (the request is swallowed)
================  ==========================================================================

:class:`FaultyModbusProxy` sits between the driver and a real ``pymodbus`` TCP server (one
upstream connection per client connection, like a TCP/RS-485 gateway). For RTU,
:func:`rtu_fault_tracer` is the ``trace_packet`` of a real ``pymodbus`` serial server: it garbles
or truncates the frames the server sends, on the line itself.

Example::

    plan = FaultPlan()
    async with FaultyModbusProxy(upstream_port=sim.port, plan=plan) as proxy:
        plan.set(2, "reset")
        ...  # the bus polls 127.0.0.1:proxy.port
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tests.support.procs import free_port, reset_connection


@dataclass
class FaultPlan:
    """What each unit's next requests get; ``log`` records ``(monotonic time, unit, action)``."""

    default: str = "pass"
    log: list[tuple[float, int, str]] = field(default_factory=list)
    _cycles: dict[int, Iterator[str]] = field(default_factory=dict)

    def set(self, unit: int, *actions: str) -> None:
        """From now on ``unit``'s requests get ``actions`` in turn, cycling."""
        self._cycles[unit] = itertools.cycle(actions)

    def clear(self, unit: int) -> None:
        """``unit`` answers normally again."""
        self._cycles.pop(unit, None)

    def next(self, unit: int) -> str:
        cycle = self._cycles.get(unit)
        action = next(cycle) if cycle is not None else self.default
        self.log.append((time.monotonic(), unit, action))
        return action

    def count(self, unit: int, action: str) -> int:
        return sum(1 for _t, u, a in self.log if u == unit and a == action)


def garbled(frame: bytes) -> bytes:
    return bytes(b ^ 0xA5 for b in frame)


class FaultyModbusProxy:
    """A Modbus TCP proxy on 127.0.0.1 that injects :class:`FaultPlan` faults per unit id."""

    def __init__(self, *, upstream_port: int, plan: FaultPlan, port: int | None = None) -> None:
        self.upstream_port = upstream_port
        self.plan = plan
        self.port = port or free_port()
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> FaultyModbusProxy:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            upstream = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            while True:
                request = await _read_mbap_frame(reader)
                action = self.plan.next(request[6])
                if action == "silent":
                    continue
                if action == "reset":
                    reset_connection(writer)
                    return
                upstream[1].write(request)
                await upstream[1].drain()
                answer = await _read_mbap_frame(upstream[0])
                kind, _, arg = action.partition(":")
                if kind == "late":
                    await asyncio.sleep(float(arg))
                elif kind == "garble":
                    answer = garbled(answer)
                elif kind == "garble-pdu":
                    answer = answer[:7] + bytes([0x41]) + answer[8:]  # function 0x41: no such function
                elif kind == "truncate":
                    answer = answer[: len(answer) // 2]
                writer.write(answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        except asyncio.CancelledError:  # the proxy is closing; ending normally keeps asyncio quiet
            pass
        finally:
            self._tasks.discard(task)
            for w in (writer, upstream[1] if upstream else None):
                if w is not None:
                    with contextlib.suppress(Exception):
                        w.close()


async def _read_mbap_frame(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readexactly(6)
    (length,) = struct.unpack(">H", head[4:6])
    return head + await reader.readexactly(length)


def rtu_fault_tracer(plan: FaultPlan) -> Callable[[bool, bytes], bytes]:
    """A ``trace_packet`` for a pymodbus RTU server: garble, truncate or swallow what it sends.

    On a serial line ``garble`` flips bits of the whole frame (its CRC no longer matches),
    ``truncate`` sends half a frame, ``silent`` sends nothing. Other actions pass.
    """

    def trace(sending: bool, data: bytes) -> bytes:
        if not sending or not data:
            return data
        action = plan.next(data[0])
        if action == "garble":
            return garbled(data)
        if action == "truncate":
            return data[: len(data) // 2]
        if action == "silent":
            return b""
        return data

    return trace
