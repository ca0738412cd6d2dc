"""Limits the admin page holds against a real waitress server and raw sockets: request bodies are
refused before they are read or spooled to disk.

Story: someone on the mairie's LAN (no account needed) posts 100 MB to ``/login``; the Pi's SD
card, which also holds the journal, must not receive a byte of it.
"""

from __future__ import annotations

import os
import select
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.web.security import MAX_BODY_BYTES, MAX_HEADER_BYTES

HUNDRED_MB = 100 * 1024 * 1024
#: What the client pushes at most before it expects the server to have answered.
PUSH_LIMIT = 8 * 1024 * 1024


def _write_bytes() -> int:
    """Bytes this process caused to be written to storage (``/proc/self/io``; every thread)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise AssertionError("no write_bytes in /proc/self/io")


def _open_files_in(directory: Path) -> list[str]:
    """Files this process holds open under ``directory`` (a spooled body is an unlinked temp file there)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(directory)):
            found.append(target)
    return found


@pytest.fixture
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where waitress would spool a body (``tempfile``'s directory), on a real disk."""
    directory = tmp_path / "spool"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def _push(port: int, head: bytes, pieces: Iterator[bytes]) -> tuple[bytes, int, list[str]]:
    """Send ``head`` then body pieces until the server answers (or PUSH_LIMIT); return (answer, bytes
    pushed, files open in the spool directory while the request was in flight)."""
    spooled: list[str] = []
    pushed = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        for piece in pieces:
            if select.select([sock], [], [], 0)[0] or pushed >= PUSH_LIMIT:
                break
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            pushed += len(piece)
            if pushed % (1024 * 1024) == 0:
                time.sleep(0.05)  # let the server read what it will
        spooled = _open_files_in(Path(tempfile.gettempdir()))
        sock.settimeout(10)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                data = sock.recv(4096)
                if not data:
                    break
                answer += data
        except (TimeoutError, ConnectionResetError):
            pass
    return answer, pushed, spooled


def _fixed(total: int) -> Iterator[bytes]:
    piece = b"x" * 65536
    for _ in range(total // len(piece)):
        yield piece


def _chunked(total: int) -> Iterator[bytes]:
    piece = b"x" * 16384
    chunk = b"%x\r\n" % len(piece) + piece + b"\r\n"
    for _ in range(total // len(piece)):
        yield chunk


HEAD = b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"


def test_a_huge_content_length_is_refused_before_the_body_is_read(served, spool_dir):
    before = _write_bytes()
    answer, pushed, spooled = _push(served.port, HEAD + b"Content-Length: %d\r\n\r\n" % HUNDRED_MB, _fixed(HUNDRED_MB))
    written = _write_bytes() - before
    assert answer.startswith(b"HTTP/1.1 413"), (answer[:200], pushed)
    assert spooled == []
    assert written < 256 * 1024, f"{written} bytes written to disk while refusing the body"


def test_a_chunked_body_is_cut_at_the_limit_and_never_spooled(served, spool_dir):
    before = _write_bytes()
    answer, pushed, spooled = _push(served.port, HEAD + b"Transfer-Encoding: chunked\r\n\r\n", _chunked(HUNDRED_MB))
    written = _write_bytes() - before
    assert answer.startswith(b"HTTP/1.1 413"), (answer[:200], pushed)
    assert pushed < PUSH_LIMIT  # the server answered (and stopped reading) long before the client stopped
    assert spooled == []
    assert written < 256 * 1024, f"{written} bytes written to disk while refusing the body"


@pytest.mark.parametrize("path", ["/login", "/health", "/metrics", "/language", "/zone/mairie/bureaux/override"])
def test_every_route_refuses_a_body_over_the_limit_and_takes_one_under_it(served, path):
    over = HEAD.replace(b"/login", path.encode()) + b"Content-Length: %d\r\n\r\n" % (MAX_BODY_BYTES + 1)
    answer, _, _ = _push(served.port, over, _fixed(2 * MAX_BODY_BYTES))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    # a body at the limit is read and handled by the page (here: no valid form, or no login)
    under = HEAD.replace(b"/login", path.encode()) + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % MAX_BODY_BYTES
    answer, _, _ = _push(served.port, under + b"a" * MAX_BODY_BYTES, iter(()))
    assert not answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_an_oversized_request_head_is_refused_and_a_normal_one_served(served):
    head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"p" * MAX_HEADER_BYTES + b"\r\n\r\n"
    answer, _, _ = _push(served.port, head, iter(()))
    assert answer.split(b" ")[1] == b"431", answer[:200]  # (waitress answers it as HTTP/1.0)
    cookie = b"Cookie: vg_session=" + b"c" * 4000 + b"\r\nConnection: close\r\n\r\n"
    answer, _, _ = _push(served.port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + cookie, iter(()))
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
