"""A small keep-alive pool of ``http.client`` connections to one server: what a sink's POST needs.

Rules of this module:
- blocking, thread-safe: a request takes an idle connection (or opens one), and gives it back
  once the answer is read whole, unless the server said it closes; at most ``size`` are kept;
- separate connect and read timeouts (the connect one bounds the TCP and TLS handshakes);
- TLS certificates and host names are verified with the system's CAs, or ``ca_file``, unless
  ``verify`` is false;
- no retry, except once on a fresh connection when a *kept* one turns out closed by the server
  before any answer (an idle keep-alive connection the server dropped): nothing was processed;
- errors are the standard library's: ``OSError`` (``TimeoutError``, ``ssl.SSLError``,
  ``ConnectionError`` ...) and ``http.client.HTTPException``.

Why not urllib3: it is what influxdb-client uses, but an InfluxDB 1.x sink only needs one POST;
urllib3 costs about 5 MB of RSS on top of ``http.client`` (measured, docs/performance.md).
"""

from __future__ import annotations

import http.client
import ssl
import threading
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urlsplit

#: a kept connection the server closed meanwhile fails like this before any answer
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


@dataclass(frozen=True, slots=True)
class Response:
    """A whole answer: status, headers and body."""

    status: int
    headers: Message
    data: bytes


class HttpPool:
    """Keep-alive connections to the server of ``base`` (``http://`` or ``https://``, maybe a path).

    >>> pool = HttpPool("http://127.0.0.1:8086", connect_s=5, read_s=10)  # doctest: +SKIP
    >>> pool.request("GET", "/ping").status  # doctest: +SKIP
    204
    """

    def __init__(self, base: str, *, connect_s: float, read_s: float, size: int = 1, verify: bool = True,
                 ca_file: str | None = None) -> None:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base!r}")
        self.host = parts.hostname
        self.port = parts.port
        self.prefix = parts.path.rstrip("/")
        self.connect_s = connect_s
        self.read_s = read_s
        self.size = max(1, size)
        self._context: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self._context = ssl.create_default_context(cafile=ca_file)
            if not verify:
                self._context.check_hostname = False
                self._context.verify_mode = ssl.CERT_NONE
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def request(self, method: str, target: str, *, body: bytes | None = None, headers: dict[str, str] | None = None,
                timeout: float | None = None) -> Response:
        """Send one request (``target``: path and query) and read its whole answer."""
        conn, kept = self._take(timeout)
        try:
            try:
                response = self._exchange(conn, method, target, body=body, headers=headers, timeout=timeout)
            except _STALE:
                if not kept:
                    raise
                conn.close()
                conn, kept = self._open(timeout), False
                response = self._exchange(conn, method, target, body=body, headers=headers, timeout=timeout)
        except BaseException:
            conn.close()
            raise
        return response

    def close(self) -> None:
        """Close the idle connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _take(self, timeout: float | None) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._open(timeout), False

    def _open(self, timeout: float | None) -> http.client.HTTPConnection:
        connect_s = self.connect_s if timeout is None else timeout
        conn: http.client.HTTPConnection
        if self._context is not None:
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=connect_s, context=self._context)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=connect_s)
        conn.connect()  # TCP (and TLS) within the connect timeout
        return conn

    def _exchange(self, conn: http.client.HTTPConnection, method: str, target: str, *, body: bytes | None,
                  headers: dict[str, str] | None, timeout: float | None) -> Response:
        if conn.sock is None:
            conn.connect()
        conn.sock.settimeout(self.read_s if timeout is None else timeout)
        conn.request(method, self.prefix + target, body=body, headers=headers or {})
        answer = conn.getresponse()
        data = answer.read()
        response = Response(answer.status, answer.headers, data)
        if answer.will_close:
            conn.close()
        else:
            with self._lock:
                if len(self._idle) < self.size:
                    self._idle.append(conn)
                    return response
            conn.close()
        return response
