"""Start a real server process on 127.0.0.1, wait until it listens, stop it for sure."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from gateway import child_process

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, *, host: str = "127.0.0.1", timeout: float = 20.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until ``host:port`` accepts connections, or fail with the process's output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


def require_tool(name: str) -> str:
    """The path of a tool the suite needs; a missing one fails loudly (never a skip)."""
    path = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/bin") / name, Path("/usr/sbin") / name) if p.exists()), None
    )
    if path is None:
        raise RuntimeError(f"{name} is not installed: run `make system-deps` (as root) or `make test`")
    return path


def run_python(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """``python <args>`` in the repository's root, to its end; its output captured as text."""
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, check=False, cwd=ROOT, timeout=timeout
    )


@contextlib.contextmanager
def running(
    argv: Sequence[str], *, port: int | None = None, log: Path | None = None, timeout: float = 20.0
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` for the duration of the block; kill it (and wait) afterwards."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        if port is not None:
            wait_for_port(port, proc=proc, timeout=timeout)
        yield proc
    finally:
        child_process.stop(proc, timeout_s=10)
        if log:
            out.close()  # type: ignore[union-attr]


def reset_connection(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), like a router or a gateway dropping the connection."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
