"""TLS (verified against ``ca_file``) and credentials (``password_file``) with a real mosquitto."""

from __future__ import annotations

import asyncio
import os
import ssl
from pathlib import Path

import pytest

from tests.integration.test_mqtt_sink import BASE, Running, wait_for, write_config
from tests.support.mosquitto import Broker, collect
from tests.support.tls import self_signed_certificate

pytestmark = pytest.mark.integration


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with openssl."""
    return self_signed_certificate(tmp_path)


@pytest.fixture
def secure_broker(tmp_path: Path, certificate: tuple[Path, Path]):
    directory = tmp_path / "mosquitto"
    directory.mkdir()
    broker = Broker(directory, tls=certificate, users={"gateway": "s3cret-pass"})
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def secure_config(tmp_path: Path, broker: Broker, *, ca: Path | None, password: str) -> Path:
    path = write_config(tmp_path, broker)
    pw = tmp_path / "mqtt.password"
    pw.write_text(password + "\n")
    os.chmod(pw, 0o600)
    extra = f'username = "gateway"\npassword_file = "{pw}"\ntls = true\n'
    if ca is not None:
        extra += f'ca_file = "{ca}"\n'
    path.write_text(
        path.read_text().replace("homeassistant_discovery = true\n", "homeassistant_discovery = false\n" + extra)
    )
    return path


def client_tls(cert: Path) -> dict[str, object]:
    return {
        "tls_context": ssl.create_default_context(cafile=str(cert)),
        "username": "gateway",
        "password": "s3cret-pass",
    }


async def test_tls_with_ca_file_and_password_delivers(tmp_path, secure_broker, certificate) -> None:
    config = secure_config(tmp_path, secure_broker, ca=certificate[0], password="s3cret-pass")
    async with Running(config) as gw:
        gw.meter(870.0)
        await wait_for(lambda: gw.core.metrics.get("gateway_mqtt_rows_total", sink="mqtt") >= 1)
        got = await collect(secure_broker, [f"{BASE}/mairie/#"], seconds=1.0, **client_tls(certificate[0]))
    assert (f"{BASE}/mairie/mairie-general/power_w", "870.0", True) in got


@pytest.mark.parametrize(
    ("ca", "password"), [(False, "s3cret-pass"), (True, "wrong")], ids=["unverifiable-certificate", "wrong-password"]
)
async def test_refused_connections_never_deliver_and_never_block(
    tmp_path, secure_broker, certificate, ca, password, caplog
) -> None:
    config = secure_config(tmp_path, secure_broker, ca=certificate[0] if ca else None, password=password)
    async with Running(config) as gw:
        gw.meter(870.0)
        await wait_for(lambda: gw.core.metrics.get("gateway_mqtt_disconnects_total", sink="mqtt") >= 2)
        assert not gw.sink.connected
        assert gw.core.metrics.get("gateway_mqtt_rows_total", sink="mqtt") == 0
        # polling goes on regardless: the reading is in the state
        assert gw.core.state.snapshot().value("mairie-general", "power_w").value == 870.0
        await asyncio.sleep(0)
    assert sum("MQTT broker" in r.message and "unavailable" in r.message for r in caplog.records) == 1
    got = await collect(secure_broker, [f"{BASE}/#"], seconds=0.5, **client_tls(certificate[0]))
    assert got == []


async def test_an_unreadable_password_file_is_an_outage_not_a_crash(tmp_path, secure_broker, certificate) -> None:
    config = secure_config(tmp_path, secure_broker, ca=certificate[0], password="s3cret-pass")
    (tmp_path / "mqtt.password").unlink()  # removed by mistake
    async with Running(config) as gw:
        await wait_for(lambda: gw.core.metrics.get("gateway_mqtt_disconnects_total", sink="mqtt") >= 1)
        assert gw.task is not None
        assert not gw.task.done()
        assert not gw.sink.connected
