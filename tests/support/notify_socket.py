"""A stand-in for systemd's notification socket: binds ``NOTIFY_SOCKET``, records datagrams.

Each message is kept with the time it arrived and the sender's PID (``SO_PASSCRED``), so
tests can check READY/WATCHDOG timing and that a re-exec kept the same PID.
"""

from __future__ import annotations

import contextlib
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Notification:
    at: float  # time.monotonic() on arrival
    pid: int
    fields: dict[str, str]


class NotifySocket:
    """A bound ``AF_UNIX`` datagram socket read by a background thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[Notification] = []
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self._sock.bind(str(path))
        self._sock.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="notify-socket", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        creds_size = struct.calcsize("3i")
        while not self._stop.is_set():
            try:
                data, ancdata, _flags, _addr = self._sock.recvmsg(4096, socket.CMSG_SPACE(creds_size))
            except TimeoutError:
                continue
            except OSError:
                return
            pid = 0
            for level, kind, payload in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", payload[:creds_size])[0]
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            with self._lock:
                self.messages.append(Notification(time.monotonic(), pid, fields))

    def with_field(self, key: str, value: str | None = None) -> list[Notification]:
        """Messages carrying ``key`` (with ``value`` if given)."""
        with self._lock:
            return [m for m in self.messages if key in m.fields and (value is None or m.fields[key] == value)]

    def wait_for(self, key: str, value: str | None = None, *, count: int = 1, timeout: float = 20.0) -> list[Notification]:
        """Block until ``count`` messages with ``key`` arrived; fail with what did arrive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.with_field(key, value)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"{count}x {key}={value} not received in {timeout}s; got {self.messages}")

    def wait_until(self, predicate: Callable[[Notification], bool], *, timeout: float = 20.0) -> Notification:
        """Block until a message satisfying ``predicate`` arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = next((m for m in self.messages if predicate(m)), None)
            if found is not None:
                return found
            time.sleep(0.02)
        raise AssertionError(f"no matching message in {timeout}s; got {self.messages}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


@contextlib.contextmanager
def notify_socket(path: Path) -> Iterator[NotifySocket]:
    """Bind a notification socket at ``path`` for the duration of the block."""
    sock = NotifySocket(path)
    try:
        yield sock
    finally:
        sock.close()
