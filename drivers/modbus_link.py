"""One Modbus line (TCP or RTU) seen as "read these registers from this unit".

Rules of this module:
- a :class:`ModbusLink` is used by exactly one task (the bus poller or ``modbus-read``); it never
  runs two requests at once, so nobody reads somebody else's reply;
- any timeout or garbled answer **drops the connection** (a new pymodbus client is made for the
  next request): a late reply lands on a closed socket or port and can never be taken for the
  answer to the next request. On RS-485 the port stays closed for a short quiet time first;
- a Modbus exception reply (illegal address, gateway target failed...) is the device's answer: the
  connection is kept;
- every failure is a :class:`ReadError` carrying its ``kind``; nothing is logged here.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient

ErrorKind = Literal["connect", "timeout", "exception", "protocol"]
#: Quiet time after an RS-485 timeout before the port is opened again (lets a late reply end).
RTU_QUIET_S = 0.05


@dataclass(frozen=True, slots=True)
class TcpLink:
    """A Modbus TCP meter or TCP-to-RS-485 gateway."""

    host: str
    port: int = 502

    @property
    def kind(self) -> Literal["tcp"]:
        return "tcp"

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class RtuLink:
    """An RS-485 line on a serial port."""

    port: str
    baudrate: int = 9600
    parity: Literal["N", "E", "O"] = "N"
    stopbits: int = 1
    bytesize: int = 8

    @property
    def kind(self) -> Literal["rtu"]:
        return "rtu"

    def __str__(self) -> str:
        return f"{self.port}@{self.baudrate}{self.parity}"


class ReadError(Exception):
    """A read that produced no usable registers; ``kind`` says why, ``code`` is the Modbus exception."""

    def __init__(self, kind: ErrorKind, message: str, *, code: int | None = None) -> None:
        self.kind = kind
        self.code = code
        super().__init__(message)


class ModbusLink:
    """Reads registers over one line, reconnecting by itself before the next request."""

    def __init__(self, link: TcpLink | RtuLink, *, timeout_s: float) -> None:
        self.link = link
        self.timeout_s = timeout_s
        self._client: AsyncModbusTcpClient | AsyncModbusSerialClient | None = None
        self._quiet_until = 0.0
        self.requests = 0  # requests sent (for tests and benchmarks)
        self.connects = 0

    def _make_client(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
        from pymodbus.framer import FramerType

        # retries=0: one attempt; reconnect_delay=0: we reconnect ourselves, when we need to.
        if isinstance(self.link, TcpLink):
            return AsyncModbusTcpClient(
                self.link.host, port=self.link.port, timeout=self.timeout_s, retries=0, reconnect_delay=0
            )
        return AsyncModbusSerialClient(
            self.link.port,
            framer=FramerType.RTU,
            baudrate=self.link.baudrate,
            parity=self.link.parity,
            stopbits=self.link.stopbits,
            bytesize=self.link.bytesize,
            timeout=self.timeout_s,
            retries=0,
            reconnect_delay=0,
        )

    async def _connected(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        if self._client is not None and self._client.connected:
            return self._client
        self.close()
        loop = asyncio.get_running_loop()
        if (wait := self._quiet_until - loop.time()) > 0:
            await asyncio.sleep(wait)
        client = self._make_client()
        self.connects += 1
        try:
            async with asyncio.timeout(self.timeout_s + 1.0):
                ok = await client.connect()
        except (TimeoutError, OSError) as exc:
            ok = False
            reason = str(exc) or type(exc).__name__
        else:
            reason = "connection refused or port unavailable"
        if not ok:
            client.close()
            raise ReadError("connect", f"cannot connect to {self.link}: {reason}")
        self._client = client
        return client

    def close(self) -> None:
        """Drop the connection (the next read opens a new one)."""
        if self._client is not None:
            self._client.close()
            self._client = None
            if isinstance(self.link, RtuLink):
                self._quiet_until = asyncio.get_running_loop().time() + RTU_QUIET_S

    async def read(self, *, unit: int, function_code: int, start: int, count: int) -> list[int]:
        """Registers ``start .. start+count-1`` of table ``function_code`` (3 or 4) of ``unit``."""
        from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

        client = await self._connected()
        self.requests += 1
        call = client.read_holding_registers if function_code == 3 else client.read_input_registers
        try:
            async with asyncio.timeout(
                self.timeout_s * 2 + 0.5
            ):  # pymodbus has its own; ours is the backstop
                response = await call(start, count=count, device_id=unit)
        except (TimeoutError, ModbusIOException) as exc:
            self.close()
            raise ReadError("timeout", f"no reply within {self.timeout_s}s") from exc
        except ConnectionException as exc:
            self.close()
            raise ReadError("connect", f"connection lost: {exc}") from exc
        except (ModbusException, OSError, ValueError) as exc:
            self.close()
            raise ReadError("protocol", f"bad reply: {exc}") from exc
        if response.isError():
            code = getattr(response, "exception_code", None)
            raise ReadError("exception", f"exception code {code} for {start}+{count}", code=code)
        registers = list(getattr(response, "registers", []) or [])
        if len(registers) != count or (response.dev_id and response.dev_id != unit):
            self.close()
            raise ReadError(
                "protocol", f"reply does not match the request ({len(registers)} of {count} registers)"
            )
        return registers

    async def __aenter__(self) -> ModbusLink:
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.close()
