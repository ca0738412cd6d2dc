"""A small fault-injecting HTTP proxy in front of a real server (asyncio, its own thread).

It speaks just enough HTTP/1.1 for write requests (``Content-Length`` bodies, keep-alive)
and, request by request, either forwards to the real server or misbehaves:

==================  =====================================================================
action              what the client sees
==================  =====================================================================
``pass``            the real server's answer
``status:CODE[:S]`` HTTP CODE (``S`` = ``Retry-After`` seconds), nothing forwarded
``slow:S``          the real answer, ``S`` seconds late
``reset``           the connection is reset (RST) before anything is forwarded
``reset-after``     forwarded to the server, then the connection is reset (a lost answer)
``hang``            never answers (the client times out)
(server down)       502 Bad Gateway, as a reverse proxy in front of a stopped server says
==================  =====================================================================

``proxy.script(...)`` queues one-shot actions; ``proxy.default`` applies when the queue is
empty. ``proxy.reject_marker = b"..."``: a body with a line containing the marker is answered
400 with an InfluxDB-style error naming the line, without forwarding anything (as a server
refusing a malformed line). With ``tls=(cert, key)`` it terminates TLS (for verification tests).

Example::

    with FaultyProxy(upstream_port=server.port) as proxy:
        proxy.script("status:503:1", "reset", "pass")
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gzip
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

from tests.support.procs import free_port, reset_connection


class FaultyProxy:
    """HTTP proxy on 127.0.0.1 that injects faults between a client and a real server."""

    def __init__(self, *, upstream_port: int, tls: tuple[Path, Path] | None = None) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.default = "pass"
        self.reject_marker: bytes | None = None
        self.on_delivered: Callable[[bytes], None] | None = None  # bodies the server accepted, in order
        self.log: list[str] = []  # the action taken for each request, in order
        self.times: list[float] = []  # when each request arrived (time.monotonic())
        self._queue: collections.deque[str] = collections.deque()
        self._lock = threading.Lock()
        self._tls = tls
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="faulty-proxy", daemon=True)
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    def script(self, *actions: str) -> None:
        """Queue one-shot actions for the next requests."""
        with self._lock:
            self._queue.extend(actions)

    def actions(self, prefix: str) -> int:
        """How many requests got an action starting with ``prefix``."""
        with self._lock:
            return sum(1 for a in self.log if a.startswith(prefix))

    # ---- life cycle ---------------------------------------------------------------------------

    def __enter__(self) -> FaultyProxy:
        self._thread.start()
        ctx = None
        if self._tls:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(str(self._tls[0]), str(self._tls[1]))
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._client, "127.0.0.1", self.port, ssl=ctx), self._loop
        )
        self._server = future.result(10)
        return self

    def __exit__(self, *exc: object | TracebackType) -> None:
        async def _close() -> None:
            assert self._server is not None
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(_close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    # ---- the proxy ----------------------------------------------------------------------------

    def _next_action(self, body: bytes, headers: dict[str, str]) -> str:
        with self._lock:
            action = self._queue.popleft() if self._queue else self.default
            if action == "pass" and self.reject_marker is not None:
                data = gzip.decompress(body) if headers.get("content-encoding") == "gzip" else body
                bad = next((ln for ln in data.split(b"\n") if self.reject_marker in ln), None)
                if bad is not None:
                    action = "reject:" + bad.decode("utf-8", "replace")
            self.log.append(action.split(":", 1)[0] if action.startswith("reject:") else action)
            self.times.append(time.monotonic())
            return action

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {
                    k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if not await self._serve(self._next_action(body, headers), head, body, writer):
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _serve(self, action: str, head: bytes, body: bytes, writer: asyncio.StreamWriter) -> bool:
        """Carry out one action; ``False`` when the connection is finished."""
        kind, _, arg = action.partition(":")
        if kind == "status":
            code, _, retry = arg.partition(":")
            extra = f"Retry-After: {retry}\r\n" if retry else ""
            await self._answer(writer, int(code), b'{"error":"injected by the test proxy"}', extra)
            return True
        if kind == "reject":
            message = f'{{"error":"unable to parse \'{arg[:200]}\': injected bad line"}}'.encode()
            await self._answer(writer, 400, message, "")
            return True
        if kind == "reset":
            reset_connection(writer)
            return False
        if kind == "hang":
            await asyncio.sleep(3600)
            return False
        if kind == "slow":
            await asyncio.sleep(float(arg))
        try:
            answer = await self._forward(head, body)
        except OSError:  # the server is down: answer like a reverse proxy (nginx) would
            await self._answer(writer, 502, b'{"error":"upstream unreachable"}', "")
            return True
        if self.on_delivered is not None and answer.startswith((b"HTTP/1.1 2", b"HTTP/1.0 2")):
            gz = b"content-encoding: gzip" in head.lower()
            self.on_delivered(gzip.decompress(body) if gz else body)
        if kind == "reset-after":
            reset_connection(writer)
            return False
        writer.write(answer)
        await writer.drain()
        return True

    async def _forward(self, head: bytes, body: bytes) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        try:
            lines = [ln for ln in head.decode("latin-1").split("\r\n") if ln]
            kept = [ln for ln in lines[1:] if not ln.lower().startswith(("connection:", "host:"))]
            request = "\r\n".join(
                [lines[0], f"Host: 127.0.0.1:{self.upstream_port}", *kept, "Connection: close"]
            )
            writer.write(request.encode("latin-1") + b"\r\n\r\n" + body)
            await writer.drain()
            answer = await reader.read()
        finally:
            writer.close()
        # The server closed after its answer; tell our client the connection stays usable.
        top, _, rest = answer.partition(b"\r\n\r\n")
        top_lines = [ln for ln in top.split(b"\r\n") if not ln.lower().startswith(b"connection:")]
        return b"\r\n".join(top_lines) + b"\r\n\r\n" + rest

    @staticmethod
    async def _answer(writer: asyncio.StreamWriter, code: int, body: bytes, extra: str) -> None:
        reason = {
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden",
            413: "Payload Too Large",
            429: "Too Many Requests",
            500: "Internal Server Error",
            503: "Service Unavailable",
        }.get(code, "X")
        writer.write(
            f"HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"{extra}\r\n".encode("latin-1")
            + body
        )
        await writer.drain()


@contextlib.contextmanager
def faulty_proxy(upstream_port: int, *, tls: tuple[Path, Path] | None = None) -> Iterator[FaultyProxy]:
    """``with faulty_proxy(server.port) as proxy: ...``"""
    with FaultyProxy(upstream_port=upstream_port, tls=tls) as proxy:
        yield proxy
