"""HTTP transports for the InfluxDB sinks: one POST of an already-encoded batch, one answer.

Rules of this module:
- blocking I/O only; the sink runs :meth:`post` in its own
  small thread pool, so the event loop never waits on the network;
- :meth:`post` never raises for network trouble: every outcome is an :class:`Answer` whose
  ``kind`` says what the sink should do (deliver, set aside, shrink, back off, shout);
- no retries here (``retries=False``): the sink owns the retry policy and the cursor;
- TLS certificates are verified unless the configuration explicitly says otherwise.

v2 goes through ``influxdb-client`` (``WriteService.post_write``, the generated call the
library's own ``WriteApi`` uses; urllib3 underneath, loaded only for a v2 sink) with a body we
gzip ourselves, so we know the bytes sent; v1 ``/write`` (and ``doctor``'s probes of either
server) is one request over :class:`gateway.sinks.http_pool.HttpPool` (``http.client``: about
5 MB of RSS less than urllib3; certificates verified the same way, system CAs or ``ca_file``).
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import logging
import os
import ssl
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import urlencode

from gateway.schema.sinks import InfluxV1SinkConfig, InfluxV2SinkConfig
from gateway.sinks.http_pool import HttpPool, Response

log = logging.getLogger("gateway.sinks.influx")

AnswerKind = Literal[
    "ok",
    "rejected",
    "too_large",
    "auth",
    "not_found",
    "throttled",
    "server",
    "client",
    "timeout",
    "network",
    "tls",
]


def one_line(text: object, limit: int = 500) -> str:
    """An error message fit for one log line."""
    return " ".join(str(text).split())[:limit]


@dataclass(frozen=True, slots=True)
class Answer:
    """What the server (or the network) said to one POST."""

    kind: AnswerKind
    status: int  # HTTP status, 0 when no HTTP answer came back
    message: str = ""
    retry_after_s: float | None = None
    elapsed_s: float = 0.0


class Transport(Protocol):
    """Sends one encoded batch (line protocol, maybe gzipped) and classifies the answer."""

    def post(self, body: bytes, *, gzipped: bool) -> Answer: ...

    def close(self) -> None: ...


def classify(status: int, message: str, retry_after: str | None, elapsed_s: float) -> Answer:
    """Map an HTTP status to what the sink must do about it."""
    kind: AnswerKind
    if 200 <= status < 300:
        kind = "ok"
    elif status in (400, 422):  # malformed line, field type conflict, outside retention
        kind = "rejected"
    elif status == 413:
        kind = "too_large"
    elif status in (401, 403):
        kind = "auth"
    elif status == 404:  # database / bucket / endpoint missing: a configuration problem
        kind = "not_found"
    elif status in (429, 503):
        kind = "throttled"
    elif status >= 500:
        kind = "server"
    else:
        kind = "client"
    return Answer(kind, status, one_line(message), parse_retry_after(retry_after), elapsed_s)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds (RFC 9110: delay-seconds or an HTTP-date); ``None`` if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def read_secret(path: Path, what: str) -> str:
    """Read a token or password file; warn loudly when others can read it."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning(
            "SECURITY: %s file %s is readable by group/others (mode %o); run: chmod 600 %s",
            what,
            path,
            stat.S_IMODE(mode),
            path,
        )
    return path.read_text(encoding="utf-8").strip()


#: what a request raises when the server is not reached or its answer is cut short
NETWORK_ERRORS = (OSError, http.client.HTTPException)


def _network_answer(exc: BaseException, elapsed_s: float) -> Answer:
    if isinstance(exc, ssl.SSLError | ssl.CertificateError) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return Answer("tls", 0, one_line(f"TLS: {exc}"), None, elapsed_s)
    if isinstance(exc, TimeoutError) or "timed out" in str(exc).lower():
        return Answer("timeout", 0, one_line(f"timeout: {exc}"), None, elapsed_s)
    if isinstance(exc, OSError):
        return Answer("network", 0, one_line(f"cannot connect: {exc}"), None, elapsed_s)
    return Answer("network", 0, one_line(f"{type(exc).__name__}: {exc}"), None, elapsed_s)


def v1_auth(config: InfluxV1SinkConfig, password: str | None) -> dict[str, str]:
    """Basic auth headers of an InfluxDB 1.x sink (none without a username)."""
    if not config.username:
        return {}
    creds = f"{config.username}:{password or ''}".encode()
    return {"Authorization": "Basic " + base64.b64encode(creds).decode("ascii")}


def v2_auth(token: str | None) -> dict[str, str]:
    """Token auth headers of an InfluxDB 2.x sink."""
    return {"Authorization": f"Token {token}"} if token else {}


class Endpoint:
    """The server a sink talks to: base URL, auth, TLS and timeouts over one keep-alive pool.

    The sinks post through it; ``village-gateway doctor`` probes the same server through it, so
    what the doctor checks is what the sink will use (same TLS settings, same credentials).

    >>> Endpoint(config, auth=v1_auth(config, password), pool_size=1).get("/ping")  # doctest: +SKIP
    (204, b'')
    """

    def __init__(self, config: InfluxV1SinkConfig | InfluxV2SinkConfig, *, auth: dict[str, str],
                 pool_size: int) -> None:
        self.base = str(config.url).rstrip("/")
        self.auth = dict(auth)
        self._pool = HttpPool(self.base, connect_s=min(10.0, config.timeout_s), read_s=config.timeout_s,
                              size=pool_size, verify=config.verify_tls,
                              ca_file=os.fspath(config.ca_file) if config.ca_file is not None else None)

    def request(self, method: str, path: str, *, query: dict[str, str] | None = None, body: bytes | None = None,
                headers: dict[str, str] | None = None, auth: bool = True,
                timeout: float | None = None) -> Response:
        """One request; raises one of :data:`NETWORK_ERRORS` when the server is not reached."""
        target = path + ("?" + urlencode(query) if query else "")
        sent = {**(self.auth if auth else {}), **(headers or {})}
        return self._pool.request(method, target, body=body, headers=sent, timeout=timeout)

    def get(self, path: str, *, query: dict[str, str] | None = None, auth: bool = True,
            timeout: float | None = None) -> tuple[int, bytes]:
        """``GET`` ``path``: the status and (the first MB of) the body."""
        resp = self.request("GET", path, query=query, auth=auth, timeout=timeout)
        return resp.status, resp.data[:1_000_000]

    def close(self) -> None:
        self._pool.close()


class V1Transport:
    """InfluxDB 1.x ``POST /write?db=&rp=&precision=ns`` with basic auth."""

    def __init__(self, config: InfluxV1SinkConfig, *, password: str | None, pool_size: int) -> None:
        self._query = {"db": config.database, "precision": "ns"}
        if config.retention_policy:
            self._query["rp"] = config.retention_policy
        self.endpoint = Endpoint(config, auth=v1_auth(config, password), pool_size=pool_size)

    def post(self, body: bytes, *, gzipped: bool) -> Answer:
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if gzipped:
            headers["Content-Encoding"] = "gzip"
        started = time.monotonic()
        try:
            resp = self.endpoint.request("POST", "/write", query=self._query, body=body, headers=headers)
        except NETWORK_ERRORS as exc:
            return _network_answer(exc, time.monotonic() - started)
        message = resp.data.decode("utf-8", "replace").strip()
        return classify(resp.status, message, resp.headers.get("Retry-After"), time.monotonic() - started)

    def close(self) -> None:
        self.endpoint.close()


class V2Transport:
    """InfluxDB 2.x/3.x ``POST /api/v2/write`` through influxdb-client (token auth)."""

    def __init__(self, config: InfluxV2SinkConfig, *, token: str | None, pool_size: int) -> None:
        import urllib3  # influxdb-client's own HTTP layer: loaded with it, only for a v2 sink
        from influxdb_client.client.influxdb_client import InfluxDBClient  # heavy: only for a v2 sink
        from influxdb_client.service.write_service import WriteService

        tls: dict[str, Any] = {"verify_ssl": config.verify_tls}
        if config.ca_file is not None:
            tls["ssl_ca_cert"] = os.fspath(config.ca_file)
        if not config.verify_tls:
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self._client = InfluxDBClient(
            url=str(config.url).rstrip("/"),
            token=token or "",
            org=config.org,
            timeout=(int(min(10.0, config.timeout_s) * 1000), int(config.timeout_s * 1000)),
            enable_gzip=False,  # we gzip ourselves (once, and we count the bytes)
            retries=False,
            connection_pool_maxsize=pool_size,
            **tls,
        )
        self._service = WriteService(self._client.api_client)  # type: ignore[no-untyped-call]
        self._org = config.org
        self._bucket = config.bucket

    def post(self, body: bytes, *, gzipped: bool) -> Answer:
        import urllib3
        from influxdb_client.rest import ApiException

        started = time.monotonic()
        try:
            self._service.post_write(  # type: ignore[no-untyped-call]
                org=self._org,
                bucket=self._bucket,
                body=body,
                precision="ns",
                content_encoding="gzip" if gzipped else "identity",
                content_type="text/plain; charset=utf-8",
            )
        except ApiException as exc:
            elapsed = time.monotonic() - started
            if not exc.status:  # influxdb-client wraps TLS failures as status 0
                return Answer("tls", 0, one_line(exc.reason), None, elapsed)
            headers: Any = exc.headers or {}
            message = exc.body if isinstance(exc.body, str) else str(exc.reason)
            return classify(int(exc.status), message.strip(), headers.get("Retry-After"), elapsed)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return _network_answer(exc, time.monotonic() - started)
        return Answer("ok", 204, "", None, time.monotonic() - started)

    def close(self) -> None:
        self._client.close()  # type: ignore[no-untyped-call]
