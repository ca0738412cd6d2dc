"""The daemon's WSGI front: ``/health`` and ``/metrics`` without Flask, the admin app on first use.

Rules of this module:
- ``GET``/``HEAD`` of ``/health`` and ``/metrics`` are answered here from the
  :class:`gateway.web.backend.Backend`, with the page's security headers
  (:data:`gateway.web.policy.SECURITY_HEADERS`) and ``Cache-Control: no-store``: the bodies are
  the admin app's own (:func:`health_body`, :func:`metrics_text` serve both);
- every other request goes to the admin app, built by ``load_admin`` on the first such request
  (once, under a lock): Flask, Jinja, WTForms, Babel and argon2 weigh about 11 MB of RSS that a Pi
  polling meters does not pay until someone opens the page; the admin app keeps its whole policy
  (login on every route but the public ones, CSRF, headers);
- this module imports no web framework (see :mod:`gateway.daemon`, which hands the loader in).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from gateway.web import prometheus
from gateway.web.backend import Backend
from gateway.web.policy import SECURITY_HEADERS

log = logging.getLogger("gateway.web")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_REASONS = {200: "200 OK", 503: "503 Service Unavailable"}


def health_body(backend: Backend) -> tuple[bytes, int]:
    """``/health``: the JSON body and its status (503 when the gateway is failing)."""
    body, healthy = backend.health()
    return json.dumps(body).encode() + b"\n", 200 if healthy else 503


def metrics_text(backend: Backend) -> str:
    """``/metrics``: the Prometheus text of the core's metrics plus the journal's per-sink figures."""
    items = list(backend.metrics.items())
    names = {item[0] for item in items}
    _journal, sinks = backend._journal_view()
    for sink in sinks:
        labels = (("sink", sink.name),)
        for metric, value, help_text in (
            ("gateway_sink_backlog_points", sink.backlog, "points journaled but not yet delivered to the sink"),
            ("gateway_sink_lag_seconds", sink.lag_s, "age of the oldest undelivered point"),
            ("gateway_sink_dropped_points", sink.dropped, "points dropped unsent (disk budget)"),
            ("gateway_sink_rejected_points", sink.rejected, "points the server rejected as malformed"),
        ):
            if value is not None and metric not in names:
                items.append((metric, "gauge", help_text, labels, float(value)))
    return prometheus.render(items)


class Front:
    """The WSGI app the daemon serves: monitoring here, the admin app loaded when first needed.

    Example::

        front = Front(backend=backend, load_admin=lambda: create_app(config=..., backend=backend, ...))
        WebService(app=front, host="127.0.0.1", port=8080, threads=4, trusted_proxy=None)
    """

    def __init__(self, *, backend: Backend, load_admin: Callable[[], WsgiApp]) -> None:
        self.backend = backend
        self._load_admin = load_admin
        self._admin: WsgiApp | None = None
        self._lock = threading.Lock()

    @property
    def admin_loaded(self) -> bool:
        """Whether the admin app has been built (a request other than monitoring came)."""
        return self._admin is not None

    def admin(self) -> WsgiApp:
        """The admin app, built on the first call."""
        if self._admin is None:
            with self._lock:
                if self._admin is None:
                    self._admin = self._load_admin()
                    log.info("admin page loaded on its first visit")
        return self._admin

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path in ("/health", "/metrics") and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            if path == "/health":
                body, status = health_body(self.backend)
                content_type = "application/json"
            else:
                body, status = metrics_text(self.backend).encode(), 200
                content_type = prometheus.CONTENT_TYPE
            headers = [
                ("Content-Type", content_type),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
                *SECURITY_HEADERS.items(),
            ]
            start_response(_REASONS[status], headers)
            return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else [body]
        return self.admin()(environ, start_response)
