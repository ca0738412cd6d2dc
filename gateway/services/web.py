"""The admin page as a daemon service: waitress serving the Flask app in its own thread.

Rules of this module:
- the web thread reaches the core only through :class:`gateway.web.backend.Backend` (the
  control façade, state snapshots, metrics, journal stats, the hourly archive: what the daemon
  hands :func:`build`);
- ``--http HOST:PORT`` (``RunOptions.http``) overrides ``[web].listen``;
- a request body over 64 kB is refused by waitress itself (413) before it is read, and an accepted
  body stays in memory: nothing a client sends is spooled to the SD card
  (:func:`gateway.web.policy.waitress_limits`);
- waitress serves :class:`gateway.web.front.Front`: ``/health`` and ``/metrics`` without Flask,
  the admin app (``admin`` below: a loader the daemon hands in) built on the first other request;
- a port that cannot be bound is logged once and retried every 30 s: control never depends
  on the admin page;
- stopping is clean: the serving loop checks a flag between polls, closes every socket and
  waits for requests in flight (bounded), all in the web thread itself (waitress's asyncore
  map is not thread-safe).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from gateway.archive import Archive
from gateway.clock_guard import ClockGuard
from gateway.config import GatewayConfig
from gateway.control.facade import Control
from gateway.core import Core
from gateway.schema.web import parse_listen
from gateway.service import StopPhase
from gateway.web.backend import Backend
from gateway.web.front import Front, WsgiApp
from gateway.web.keys import load_or_create_secret
from gateway.web.policy import waitress_limits

log = logging.getLogger("gateway.web")

RETRY_BIND_S = 30.0

#: Builds the admin app from the configuration, the backend and the session key.
AdminFactory = Callable[[GatewayConfig, Backend, bytes], WsgiApp]


class WebServer:
    """A waitress server for one WSGI app, run and stopped from a dedicated thread."""

    def __init__(
        self, app: Any, *, host: str, port: int, threads: int = 4, trusted_proxy: str | None = None
    ) -> None:
        from waitress.server import create_server


        self._map: dict[int, Any] = {}
        options: dict[str, Any] = {
            "threads": threads,
            "ident": "village-gateway",
            "clear_untrusted_proxy_headers": True,
            **waitress_limits(),  # a body over 64 kB is refused (413) before it is read or spooled
        }
        if trusted_proxy:
            options.update(
                trusted_proxy=trusted_proxy, trusted_proxy_headers={"x-forwarded-proto", "x-forwarded-for"}
            )
        self.server = create_server(app, host=host, port=port, map=self._map, **options)
        self.port = int(getattr(self.server, "effective_port", port))
        self.host = str(getattr(self.server, "effective_host", host))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve in a daemon thread named ``web``."""
        self._thread = threading.Thread(target=self._serve, name="web", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        from waitress import wasyncore

        adj = self.server.adj
        try:
            while not self._stop.is_set() and self._map:
                wasyncore.loop(timeout=adj.asyncore_loop_timeout, map=self._map, use_poll=True, count=1)
        finally:
            self.server.task_dispatcher.shutdown(timeout=5)
            wasyncore.close_all(self._map)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the serving loop to end, wake it, and wait for the thread."""
        self._stop.set()
        with contextlib.suppress(Exception):
            self.server.pull_trigger()
        if self._thread is not None:
            self._thread.join(timeout)


class WebService:
    """The admin page, served until the daemon stops (last stop phase)."""

    name = "web"
    stop_phase = StopPhase.SYSTEM

    def __init__(self, *, app: Any, host: str, port: int, threads: int, trusted_proxy: str | None) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.threads = threads
        self.trusted_proxy = trusted_proxy
        self.server: WebServer | None = None
        self.bound = threading.Event()

    def prepare(self) -> None:
        """Nothing before the tasks: binding happens in :meth:`run` (and is retried)."""

    def _bind(self) -> WebServer:
        return WebServer(
            self.app, host=self.host, port=self.port, threads=self.threads, trusted_proxy=self.trusted_proxy
        )

    async def run(self) -> None:
        failing = False
        try:
            while self.server is None:
                try:
                    self.server = self._bind()
                except OSError as exc:
                    if not failing:
                        log.error(
                            "admin page cannot listen on %s:%d (%s); retrying every %.0f s",
                            self.host,
                            self.port,
                            exc,
                            RETRY_BIND_S,
                        )
                    failing = True
                    await asyncio.sleep(RETRY_BIND_S)
            self.server.start()
            self.bound.set()
            log.info("admin page on http://%s:%d/", _url_host(self.server.host), self.server.port)
            await asyncio.Event().wait()
        finally:
            if self.server is not None:
                started = time.monotonic()
                await asyncio.to_thread(self.server.stop)
                log.info("admin page stopped (%.2f s)", time.monotonic() - started)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def build(
    config: GatewayConfig,
    core: Core,
    *,
    control: Control | None,
    guard: ClockGuard | None = None,
    archive: Archive | None = None,
    http: str | None = None,
    admin: AdminFactory,
) -> WebService | None:
    """The admin page service, with its app built on the control façade and the core's snapshots
    (``None`` without a façade); ``http`` ("HOST:PORT") overrides ``[web].listen``.

    ``admin(config, backend, secret_key)`` builds the admin app (the daemon's imports Flask and calls
    :func:`gateway.web.app.create_app`); it runs on the first request that is not ``/health`` or
    ``/metrics`` (see :class:`gateway.web.front.Front`).
    """
    if control is None:
        log.error("the control façade is missing (control subsystem not built); admin page disabled")
        return None
    state_dir = config.service.state_dir
    backend = Backend(
        config=config,
        control=control,
        metrics=core.metrics,
        state=core.state,
        clock_now_ns=core.clock.time_ns,
        journal=core.journal,
        archive=archive,
        clock_status=_clock_status(guard),
    )
    secret_key = load_or_create_secret(config.web.secret_path(state_dir))  # a bad key refuses to start, as before
    app = Front(backend=backend, load_admin=lambda: admin(config, backend, secret_key))
    backend.warm(public=config.web.public_page)  # the Énergie and public pages ready before a visitor
    host, port = parse_listen(http or config.web.listen)
    return WebService(
        app=app, host=host, port=port, threads=config.web.threads, trusted_proxy=config.web.trusted_proxy
    )


def _clock_status(guard: ClockGuard | None) -> Callable[[], tuple[bool | None, str | None]] | None:
    if guard is None:
        return None
    return lambda: (guard.status.trusted, guard.status.reason or guard.status.detail)
