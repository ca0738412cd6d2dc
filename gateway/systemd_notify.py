"""The sd_notify protocol, spoken directly over ``$NOTIFY_SOCKET`` (no libsystemd needed).

Messages are ``KEY=VALUE`` lines in one datagram to the ``AF_UNIX`` socket systemd names
in ``NOTIFY_SOCKET`` (a path, or ``@name`` for the abstract namespace). Without the variable
(a terminal, the tests that do not bind one) every call is a no-op.

Rules of this module: never raises (a notification that cannot be sent is logged once and
dropped: losing systemd must not stop the gateway); no threads; the watchdog interval comes
from ``$WATCHDOG_USEC`` (only honoured when ``$WATCHDOG_PID`` is unset or ours).

Example::

    notifier = Notifier.from_environment()
    notifier.notify(ready=True, status="12 services running")   # READY=1, STATUS=...
    notifier.watchdog_interval_s()   # WatchdogSec/2, or None
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger("gateway.systemd")


class Notifier:
    """Sends sd_notify datagrams; a no-op when not run by systemd."""

    def __init__(self, address: str | None, *, watchdog_usec: int | None = None) -> None:
        self.address = address
        self._watchdog_usec = watchdog_usec
        self._sock: socket.socket | None = None
        self._failed = False

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        """Read ``NOTIFY_SOCKET``, ``WATCHDOG_USEC`` and ``WATCHDOG_PID``."""
        env = os.environ if environ is None else environ
        usec: int | None = None
        pid = env.get("WATCHDOG_PID")
        if env.get("WATCHDOG_USEC") and (not pid or pid == str(os.getpid())):
            try:
                usec = int(env["WATCHDOG_USEC"])
            except ValueError:
                log.warning("ignoring WATCHDOG_USEC=%r (not an integer)", env["WATCHDOG_USEC"])
            else:
                usec = usec if usec > 0 else None
        return cls(env.get("NOTIFY_SOCKET") or None, watchdog_usec=usec)

    @property
    def enabled(self) -> bool:
        """Whether a notification socket was given."""
        return self.address is not None

    def watchdog_interval_s(self) -> float | None:
        """How often to ping: half of ``WatchdogSec`` (systemd's advice), or ``None``."""
        return self._watchdog_usec / 2_000_000 if self._watchdog_usec else None

    def notify(
        self,
        *,
        ready: bool = False,
        watchdog: bool = False,
        stopping: bool = False,
        reloading: bool = False,
        status: str | None = None,
    ) -> bool:
        """Send one datagram with the given fields; return whether it was sent."""
        lines = []
        if ready:
            lines.append("READY=1")
        if reloading:
            lines.append("RELOADING=1")
        if stopping:
            lines.append("STOPPING=1")
        if watchdog:
            lines.append("WATCHDOG=1")
        if status is not None:
            lines.append("STATUS=" + " ".join(status.split()))  # one line
        return self.send("\n".join(lines)) if lines else False

    def send(self, message: str) -> bool:
        """Send a raw ``KEY=VALUE`` message."""
        if self.address is None:
            return False
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto(message.encode("utf-8"), target)
        except OSError as exc:
            if not self._failed:
                log.warning("cannot notify systemd at %s: %s", self.address, exc)
                self._failed = True
            return False
        if self._failed:
            log.info("systemd notification works again")
            self._failed = False
        return True

    def close(self) -> None:
        """Close the socket (a later :meth:`send` reopens it)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
