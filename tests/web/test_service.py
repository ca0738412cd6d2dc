"""The web service in the daemon: real waitress on a free port, clean stop, --http override, a busy port."""

from __future__ import annotations

import asyncio
import json
import socket
import stat
import urllib.request
from pathlib import Path

import pytest

from gateway.config import parse_config
from gateway.schema.web import parse_listen
from gateway.services.web import WebService
from gateway.web.keys import load_or_create_secret
from tests.support.procs import free_port


def test_listen_addresses_are_parsed_and_bad_ones_refused():
    assert parse_listen("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_listen("[::1]:8443") == ("::1", 8443)
    assert parse_listen("192.168.1.20:80") == ("192.168.1.20", 80)
    for bad in ["8080", "localhost", "127.0.0.1:0", "127.0.0.1:99999", "::1:8080", "[nope]:80", ":80"]:
        with pytest.raises(ValueError, match=r"HOST:PORT|port|IPv6|brackets"):
            parse_listen(bad)


def test_web_section_errors_name_the_field():
    from gateway.errors import ConfigError

    base = '[site]\nid = "v"\nname = "V"\nlatitude = 47\nlongitude = 1\n'
    with pytest.raises(ConfigError) as err:
        parse_config(base + '[web]\nlisten = "8080"\nlanguage = "de"\nsession_lifetime_min = 1\n')
    text = str(err.value)
    assert "web.listen" in text
    assert "HOST:PORT" in text
    assert "web.language" in text
    assert "web.session_lifetime_min" in text
    config = parse_config(base + '[web]\nlisten = "0.0.0.0:8081"\ntrusted_proxy = "127.0.0.1"\n')
    assert config.web.listen == "0.0.0.0:8081"


def test_the_secret_key_is_created_once_private_and_kept(tmp_path: Path):
    path = tmp_path / "state" / "web-secret.key"
    first = load_or_create_secret(path)
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == first
    path.write_bytes(b"short")
    from gateway.errors import StorageError

    with pytest.raises(StorageError, match="shorter than"):
        load_or_create_secret(path)


def _get(url: str) -> tuple[int, bytes, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read(), dict(response.headers)


async def _healthy_once_bound(service: WebService, port: int) -> dict[str, str]:
    """Wait for ``service`` to listen on ``port``; its /health answers 200 with the version, framing
    denied; the response's headers."""
    await asyncio.to_thread(service.bound.wait, 10)
    status, body, headers = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/health")
    assert status == 200
    assert json.loads(body)["version"] == "0.1.0"
    assert headers["X-Frame-Options"] == "DENY"
    return headers


async def test_waitress_serves_the_app_in_its_thread_and_stops_cleanly(app):
    port = free_port()
    service = WebService(app=app, host="127.0.0.1", port=port, threads=2, trusted_proxy=None)
    task = asyncio.create_task(service.run())
    headers = await _healthy_once_bound(service, port)
    assert headers["Server"] == "village-gateway"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


async def test_a_busy_port_is_retried_without_stopping_the_daemon(app, monkeypatch, caplog):
    monkeypatch.setattr("gateway.services.web.RETRY_BIND_S", 0.2)
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    service = WebService(app=app, host="127.0.0.1", port=port, threads=1, trusted_proxy=None)
    task = asyncio.create_task(service.run())
    await asyncio.sleep(0.5)
    assert not service.bound.is_set()
    assert sum("cannot listen" in r.message for r in caplog.records) == 1  # said once, not every retry
    blocker.close()
    await asyncio.to_thread(service.bound.wait, 5)
    status, _, _ = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/health")
    assert status == 200
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_build_uses_the_http_option_over_the_config(village):
    from gateway.daemon import admin_app
    from gateway.services.web import build

    port = free_port()
    service = build(
        village["config"], village["core"], control=village["control"], http=f"127.0.0.1:{port}", admin=admin_app
    )
    assert service is not None
    assert (service.host, service.port) == ("127.0.0.1", port)
    assert (Path(village["config"].service.state_dir) / "web-secret.key").exists()
    assert build(village["config"], village["core"], control=None, admin=admin_app) is None  # no façade: no page


async def test_monitoring_is_served_without_flask_and_the_admin_app_loads_on_first_visit(village):
    """Given the daemon's page, /health and /metrics answer without building the admin app; the first
    admin request builds it, and it still asks for a login (the policy is the admin app's own)."""
    from gateway.daemon import admin_app
    from gateway.services.web import build

    port = free_port()
    service = build(
        village["config"], village["core"], control=village["control"], http=f"127.0.0.1:{port}", admin=admin_app
    )
    assert service is not None
    front = service.app
    task = asyncio.create_task(service.run())
    headers = await _healthy_once_bound(service, port)
    assert headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in headers
    status, body, headers = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b"# TYPE" in body
    assert not front.admin_loaded
    status, body, _ = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/")  # redirected to the login
    assert status == 200
    assert b'name="csrf_token"' in body
    assert front.admin_loaded
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
