"""One Modbus line (TCP or RTU) seen as "read these registers from this unit".

Rules of this module:
- a :class:`ModbusLink` is used by exactly one task (the bus poller or ``modbus-read``); it never
  runs two requests at once, so nobody reads somebody else's reply;
- any timeout or bad answer **drops the connection** (a new pymodbus client is made for the
  next request): a late reply lands on a closed socket or port and can never be taken for the
  answer to the next request. On RS-485 the port stays closed for a short quiet time first;
- a bad answer fails **at once**, not after the timeout: the reply is checked byte by byte as it
  arrives (:mod:`drivers.modbus_frame`, through pymodbus's ``trace_packet`` hook), so a connection
  reset (``reset``) or a garbled frame (``garbled``) ends the request when it happens, and a reply
  that starts and then stops (``truncated``) ends it after :data:`REPLY_GAP_S` of silence;
- a request ends by its deadline: the bus ``timeout_s``, or an earlier one the caller gives (a
  failing device's share of the round); pymodbus's own timeout is only a backstop behind ours;
- a Modbus exception reply (illegal address, gateway target failed...) is the device's answer: the
  connection is kept;
- every failure is a :class:`ReadError` carrying its ``kind``; nothing is logged here.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from drivers.modbus_frame import Expected, Verdict, check_reply

if TYPE_CHECKING:
    from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient

ErrorKind = Literal["connect", "timeout", "reset", "garbled", "truncated", "exception", "protocol", "no_values"]
#: Quiet time after an RS-485 timeout before the port is opened again (lets a late reply end).
RTU_QUIET_S = 0.05
#: Silence that ends a reply once it has begun: a frame's bytes come back to back (RTU: 1.5
#: characters apart at most; USB adapters deliver them within a few ms; a TCP gateway sends the
#: frame at once, a lost segment is resent within about 0.2 s).
REPLY_GAP_S: dict[str, float] = {"rtu": 0.1, "tcp": 0.3}
#: A request is not sent with less time than this before its deadline.
MIN_REQUEST_S = 0.01


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


class _ReplyWatch:
    """One request in flight: what its reply must be, and how it failed if it did (pymodbus callbacks).

    A failure ends the request at once: it brings the request's deadline (``scope``, the
    ``asyncio.timeout_at`` around it) forward to now, so the request runs in the poller's own
    task, with no second task and no ``asyncio.wait`` per request.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, kind: Literal["tcp", "rtu"], gap_s: float, scope: asyncio.Timeout
    ) -> None:
        self.loop = loop
        self.kind = kind
        self.gap_s = gap_s
        self.scope: asyncio.Timeout | None = scope
        self.failure: ReadError | None = None
        self.expected: Expected | None = None
        self._silence: asyncio.TimerHandle | None = None

    def fail(self, error: ReadError) -> None:
        if self.failure is not None:
            return
        self.failure = error
        scope = self.scope
        if scope is not None and not scope.expired():
            scope.reschedule(self.loop.time())  # ends the request now (as a timeout, told apart by ``failure``)

    def sent(self, frame: bytes) -> None:
        self.expected = Expected.from_request(self.kind, frame)

    def received(self, data: bytes) -> bytes:
        """The receive buffer so far; what pymodbus may decode (nothing once the reply is bad)."""
        if self._silence is not None:
            self._silence.cancel()
            self._silence = None
        if self.failure is not None:
            return b""
        if self.expected is None:
            return data
        verdict = check_reply(self.expected, data)
        if verdict == "garbled":
            self.fail(ReadError("garbled", f"garbled reply: {_show(data)}"))
            return b""  # pymodbus would choke on it (or skip it and wait for the timeout)
        if verdict != "complete":
            self._silence = self.loop.call_later(self.gap_s, self._fell_silent, verdict, data)
        return data

    def _fell_silent(self, verdict: Verdict, data: bytes) -> None:
        if verdict == "partial":
            assert self.expected is not None
            length = self.expected.frame_lengths[0]
            self.fail(ReadError("truncated", f"truncated reply: {len(data)} of {length} bytes, then silence"))
        else:
            self.fail(ReadError("garbled", f"garbled reply: {_show(data)}"))

    def close(self) -> None:
        """The request is over: nothing may end it any more."""
        self.scope = None
        if self._silence is not None:
            self._silence.cancel()
            self._silence = None


def _show(data: bytes) -> str:
    shown = data[:16].hex(" ")
    return f"{len(data)} bytes {shown}{' …' if len(data) > 16 else ''}"


def _still_cancelled(link: ModbusLink) -> None:
    """Raise the cancellation a request swallowed. Python 3.11's ``asyncio.wait_for`` (pymodbus awaits
    every reply and connection with it) returns a result that is ready when the task is cancelled
    and drops the ``CancelledError``: the bus task would go on polling after a shutdown or a reload
    asked it to stop. The request counts as cut (the connection is dropped)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        link.close()
        raise asyncio.CancelledError


class ModbusLink:
    """Reads registers over one line, reconnecting by itself before the next request."""

    def __init__(self, link: TcpLink | RtuLink, *, timeout_s: float) -> None:
        self.link = link
        self.timeout_s = timeout_s
        self._client: AsyncModbusTcpClient | AsyncModbusSerialClient | None = None
        self._quiet_until = 0.0
        self._watch: _ReplyWatch | None = None
        self.requests = 0  # requests sent (for tests and benchmarks)
        self.connects = 0

    # ---- pymodbus hooks (called on the event loop, inside its protocol callbacks) ---------------------
    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        watch = self._watch
        if watch is None:
            return data
        if sending:
            watch.sent(data)
            return data
        return watch.received(data)

    def _trace_connect(self, connected: bool) -> None:
        if not connected and self._watch is not None:
            what = "connection reset by the peer" if self.link.kind == "tcp" else "serial port closed"
            self._watch.fail(ReadError("reset", what))

    def _make_client(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
        from pymodbus.framer import FramerType

        # retries=0: one attempt; reconnect_delay=0: we reconnect ourselves, when we need to;
        # timeout: a backstop only, our own deadline (at most timeout_s) ends a request first.
        backstop = self.timeout_s + 1.0
        if isinstance(self.link, TcpLink):
            return AsyncModbusTcpClient(
                self.link.host,
                port=self.link.port,
                timeout=backstop,
                retries=0,
                reconnect_delay=0,
                trace_packet=self._trace_packet,
                trace_connect=self._trace_connect,
            )
        return AsyncModbusSerialClient(
            self.link.port,
            framer=FramerType.RTU,
            baudrate=self.link.baudrate,
            parity=self.link.parity,
            stopbits=self.link.stopbits,
            bytesize=self.link.bytesize,
            timeout=backstop,
            retries=0,
            reconnect_delay=0,
            trace_packet=self._trace_packet,
            trace_connect=self._trace_connect,
        )

    async def _connected(self, deadline: float) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        if self._client is not None and self._client.connected:
            return self._client
        self.close()
        loop = asyncio.get_running_loop()
        if (wait := self._quiet_until - loop.time()) > 0:
            await asyncio.sleep(wait)
        client = self._make_client()
        self.connects += 1
        try:
            async with asyncio.timeout_at(deadline):
                ok = await client.connect()
        except TimeoutError:
            ok, reason = False, f"no connection within {self.timeout_s:g}s"
        except OSError as exc:
            ok, reason = False, str(exc) or type(exc).__name__
        else:
            reason = "connection refused or port unavailable"
        if not ok:
            client.close()
            raise ReadError("connect", f"cannot connect to {self.link}: {reason}")
        self._client = client
        _still_cancelled(self)
        return client

    def close(self) -> None:
        """Drop the connection (the next read opens a new one)."""
        if self._client is not None:
            self._client.close()
            self._client = None
            if isinstance(self.link, RtuLink):
                self._quiet_until = asyncio.get_running_loop().time() + RTU_QUIET_S

    async def read(
        self, *, unit: int, function_code: int, start: int, count: int, deadline: float | None = None
    ) -> list[int]:
        """Registers ``start .. start+count-1`` of table ``function_code`` (3 or 4) of ``unit``.

        The request ends by ``timeout_s``, or by ``deadline`` (event-loop time) if that is sooner.
        """
        loop = asyncio.get_running_loop()
        end = loop.time() + self.timeout_s
        if deadline is not None and deadline < end:
            end = deadline
        allowed = end - loop.time()
        if allowed < MIN_REQUEST_S:  # a budget already spent: better not to ask than to leave a reply behind
            raise ReadError("timeout", f"no time left for a request (its budget ended {-allowed:.3g}s ago)")
        client = await self._connected(end)
        self.requests += 1
        call = client.read_holding_registers if function_code == 3 else client.read_input_registers
        scope = asyncio.timeout_at(end)
        watch = self._watch = _ReplyWatch(loop, self.link.kind, REPLY_GAP_S[self.link.kind], scope)
        outcome: Any
        try:
            async with scope:
                outcome = await call(start, count=count, device_id=unit)
        except Exception as exc:  # sorted out below: pymodbus's error, or our scope's TimeoutError
            outcome = exc
        finally:
            self._watch = None
            watch.close()
        _still_cancelled(self)
        if isinstance(outcome, TimeoutError) and scope.expired():  # ours: the deadline, or a bad reply seen early
            self.close()
            if watch.failure is not None:
                raise watch.failure from None
            raise ReadError("timeout", f"no reply within {_seconds(allowed)}") from None
        return self._registers(outcome, unit=unit, start=start, count=count)

    def _registers(self, outcome: Any, *, unit: int, start: int, count: int) -> list[int]:
        """The registers of a reply (``outcome``: the response, or what pymodbus raised)."""
        from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

        if isinstance(outcome, (TimeoutError, ModbusIOException)):
            self.close()
            raise ReadError("timeout", f"no reply within {_seconds(self.timeout_s)}") from outcome
        if isinstance(outcome, ConnectionException):
            self.close()
            raise ReadError("connect", f"connection lost: {outcome}") from outcome
        if isinstance(outcome, (ModbusException, OSError, ValueError)):
            self.close()
            raise ReadError("protocol", f"bad reply: {outcome}") from outcome
        if isinstance(outcome, BaseException):
            raise outcome
        response: Any = outcome
        if response.isError():
            code = getattr(response, "exception_code", None)
            raise ReadError("exception", f"exception code {code} for {start}+{count}", code=code)
        registers = list(getattr(response, "registers", []) or [])
        if len(registers) != count or (response.dev_id and response.dev_id != unit):
            self.close()
            raise ReadError("protocol", f"reply does not match the request ({len(registers)} of {count} registers)")
        return registers

    async def __aenter__(self) -> ModbusLink:
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.close()


def _seconds(value: float) -> str:
    return f"{value:.3g}s"
