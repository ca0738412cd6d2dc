"""The v1 sink's HTTP pool on a real local server: keep-alive, a dropped idle connection, timeouts, refusals."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from typing import ClassVar

import pytest

from gateway.schema.sinks import InfluxV1SinkConfig
from gateway.sinks.http_pool import HttpPool
from gateway.sinks.influx_http import V1Transport
from tests.support.procs import free_port


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    connections: ClassVar[set[int]] = set()
    delay_s = 0.0

    def do_POST(self) -> None:
        Handler.connections.add(self.client_address[1])
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(Handler.delay_s)
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[http.server.ThreadingHTTPServer]:
    Handler.connections = set()
    Handler.delay_s = 0.0
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _transport(port: int, timeout_s: float = 2.0) -> V1Transport:
    config = InfluxV1SinkConfig.model_validate(
        {"kind": "influx-v1", "url": f"http://127.0.0.1:{port}", "database": "village", "timeout_s": timeout_s}
    )
    return V1Transport(config, password=None, pool_size=1)


def test_posts_reuse_one_kept_connection(server):
    transport = _transport(server.server_address[1])
    answers = [transport.post(b"m v=1 1", gzipped=False) for _ in range(5)]
    transport.close()
    assert [a.kind for a in answers] == ["ok"] * 5
    assert len(Handler.connections) == 1


def test_a_kept_connection_the_server_dropped_is_replaced_once(server):
    pool = HttpPool(f"http://127.0.0.1:{server.server_address[1]}", connect_s=2, read_s=2)
    assert pool.request("POST", "/write", body=b"x").status == 204
    kept = pool._idle[0]
    kept.sock.shutdown(socket.SHUT_RDWR)  # as if the server had closed the idle connection
    assert pool.request("POST", "/write", body=b"x").status == 204
    pool.close()


def test_no_server_and_a_slow_server_are_network_and_timeout(server):
    refused = _transport(free_port()).post(b"m v=1 1", gzipped=False)
    assert refused.kind == "network"
    assert "cannot connect" in refused.message
    Handler.delay_s = 1.0
    slow = _transport(server.server_address[1], timeout_s=0.2).post(b"m v=1 1", gzipped=False)
    assert slow.kind == "timeout"
