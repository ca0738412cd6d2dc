"""A real mosquitto broker on 127.0.0.1 (Debian package), restartable on the same port.

Configuration: ``listener PORT 127.0.0.1``, ``allow_anonymous true``, ``persistence false``
(retained messages therefore vanish with a restart, as on a Pi whose broker was reinstalled:
the gateway must re-publish its state). Fixture: ``mosquitto`` -> :class:`Broker`. For a TLS
listener with password users, build a :class:`Broker` with ``tls=(cert, key)`` and ``users``.

Also :func:`collect`, a small real subscriber that gathers the messages of some topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gateway import child_process
from tests.support.procs import free_port, require_tool, wait_for_port


@dataclass
class Broker:
    """A mosquitto process we own; :meth:`stop` / :meth:`start` keep the port."""

    directory: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    tls: tuple[Path, Path] | None = None  # (certificate, key): a TLS-only listener
    users: dict[str, str] = field(default_factory=dict)  # when set: anonymous clients refused

    def start(self) -> None:
        exe = require_tool("mosquitto")
        conf = self.directory / "mosquitto.conf"
        lines = [f"listener {self.port} 127.0.0.1", "persistence false", "log_dest stdout",
                 "log_type error", "log_type warning", "log_type notice"]  # fmt: skip
        if os.geteuid() == 0:  # as root mosquitto drops to its own user, which cannot read pytest's 0700 tmp
            lines.append("user root")
        if self.tls:
            lines += [f"certfile {self.tls[0]}", f"keyfile {self.tls[1]}"]
        if self.users:
            passwd = self.directory / "passwd"
            passwd.unlink(missing_ok=True)
            for user, password in self.users.items():
                create = [] if passwd.exists() else ["-c"]
                subprocess.run([require_tool("mosquitto_passwd"), "-b", *create, str(passwd), user, password],
                               check=True, capture_output=True)  # fmt: skip
            lines += ["allow_anonymous false", f"password_file {passwd}"]
        else:
            lines.append("allow_anonymous true")
        conf.write_text("\n".join(lines) + "\n")
        self.starts += 1
        log = open(self.directory / f"mosquitto-{self.starts}.log", "wb")  # noqa: SIM115 - owned by the process
        self.proc = subprocess.Popen(
            [exe, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        wait_for_port(self.port, proc=self.proc, timeout=10)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        child_process.stop(proc, timeout_s=10)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Broker]:
    """A fresh broker for one test."""
    broker = Broker(tmp_path / "mosquitto")
    broker.directory.mkdir()
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


async def collect(
    broker: Broker,
    topics: list[str],
    *,
    seconds: float,
    until: int | None = None,
    **client_options: Any,
) -> list[tuple[str, str, bool]]:
    """Subscribe to ``topics`` and return ``(topic, payload, retained)`` received within ``seconds``
    (or as soon as ``until`` messages arrived); ``client_options`` go to ``aiomqtt.Client``."""
    import aiomqtt

    got: list[tuple[str, str, bool]] = []
    async with aiomqtt.Client(broker.host, broker.port, **client_options) as client:
        for topic in topics:
            await client.subscribe(topic, qos=1)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                async for message in client.messages:
                    payload = message.payload
                    text = payload.decode() if isinstance(payload, bytes | bytearray) else str(payload)
                    got.append((str(message.topic), text, bool(message.retain)))
                    if until is not None and len(got) >= until:
                        break
    return got


async def publish(broker: Broker, topic: str, payload: str, *, retain: bool = False) -> None:
    """Publish one message (QoS 1) as another client would."""
    import aiomqtt

    async with aiomqtt.Client(broker.host, broker.port) as client:
        await client.publish(topic, payload, qos=1, retain=retain)
