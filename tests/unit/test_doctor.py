"""``village-gateway doctor`` on a healthy and on a broken installation.

Servers are real (influxd 1.6, VictoriaMetrics, mosquitto with password authentication); the
serial port is a real socat pty; only the Bluetooth radio (a /sys/class tree), the GPIO chip
(a device node stand-in) and the clock's sync source are simulated, through ``Probes``.
Access is judged for the service user: ``nobody`` when the suite runs as root (so the
ownership checks mean something), the current user otherwise.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.clock import ManualClock
from gateway.doctor import Account, Probes, diagnose
from gateway.doctor_finding import Finding, exit_code
from tests.support.influx_servers import start_influxd, start_victoria
from tests.support.procs import free_port, require_tool, running
from tests.support.village import ble_sensor, building, meter, relay, site

pytestmark = pytest.mark.integration


@dataclass
class ServiceUser:
    name: str
    uid: int
    gid: int
    group: str

    def own(self, path: Path, mode: int) -> Path:
        if os.geteuid() == 0:
            os.chown(path, self.uid, self.gid)
        path.chmod(mode)
        return path


@pytest.fixture
def service_user() -> ServiceUser:
    entry = pwd.getpwnam("nobody") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    return ServiceUser(entry.pw_name, entry.pw_uid, entry.pw_gid, grp.getgrgid(entry.pw_gid).gr_name)


@contextlib.contextmanager
def mosquitto_with_password(directory: Path, user: str, password: str) -> Iterator[int]:
    exe = require_tool("mosquitto")
    passwd = require_tool("mosquitto_passwd")
    directory.mkdir()
    subprocess.run([passwd, "-b", "-c", str(directory / "passwd"), user, password], check=True)
    (directory / "passwd").chmod(0o600)
    port = free_port()
    conf = directory / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {directory / 'passwd'}\n"
        "persistence false\nuser root\n"  # as root: keep reading our private files
    )
    with running([exe, "-c", str(conf)], port=port, log=directory / "mosquitto.log"):
        yield port


@contextlib.contextmanager
def serial_pty(directory: Path) -> Iterator[Path]:
    socat = require_tool("socat")
    link = directory / "ttyRS485"
    with running([socat, "-d", "-d", f"pty,raw,echo=0,link={link}", f"pty,raw,echo=0,link={directory / 'peer'}"]):
        deadline = time.monotonic() + 10
        while not link.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert link.exists(), "socat did not create the pty"
        yield link


def fake_machine(root: Path, user: ServiceUser, *, rfkill_soft: str = "0") -> Probes:
    """A Bluetooth adapter and rfkill entry in a /sys/class tree, a GPIO chip node, a D-Bus socket."""
    (root / "sys/class/bluetooth/hci0").mkdir(parents=True)
    kill = root / "sys/class/rfkill/rfkill0"
    kill.mkdir(parents=True)
    (kill / "type").write_text("bluetooth\n")
    (kill / "soft").write_text(rfkill_soft + "\n")
    (kill / "hard").write_text("0\n")
    (root / "dev").mkdir()
    chip = root / "dev/gpiochip0"
    chip.write_text("")
    user.own(chip, 0o660)
    (root / "run").mkdir()
    (root / "run/system_bus_socket").write_text("")
    return Probes(
        sync=ManualClock(datetime(2026, 11, 20, tzinfo=UTC), synchronised=True),
        dev=root / "dev",
        sys_class=root / "sys/class",
        dbus_socket=root / "run/system_bus_socket",
        bluetooth_group=user.group,
        timeout_s=3.0,
    )


#: The village of the doctor's tests: its site and the mairie (the heating test adds a zone).
DOCTOR_SITE = site("doctor-test", "Doctor", latitude=47.0, longitude=1.0) + "\n" + building("mairie", "Mairie")


def write_config(tmp: Path, user: ServiceUser, *, serial: Path, influx_url: str, mqtt_port: int,
                 extra: str = "", mqtt_password: str = "s3cret-pass") -> Path:
    secrets = tmp / "secrets"
    secrets.mkdir(exist_ok=True)
    password = secrets / "mqtt.pass"
    password.write_text(mqtt_password + "\n")
    user.own(password, 0o600)
    return write_service_config(tmp, user, "\n" + DOCTOR_SITE + f"""
[buses.rs485]
kind = "rtu"
port = "{serial}"
{meter("rs485", "mairie-general", unit=1, profile="sdm120", building="mairie")}
[ble]
adapter = "hci0"
{ble_sensor("t-mairie", "A4:C1:38:00:00:01", building="mairie")}
{relay("chauffage", 17)}
[journal]
budget_mb = 16

[sinks.local]
kind = "influx-v1"
url = "{influx_url}"
database = "village"

[sinks.mqtt]
kind = "mqtt"
host = "127.0.0.1"
port = {mqtt_port}
username = "gateway"
password_file = "secrets/mqtt.pass"
{extra}
""")


def write_service_config(tmp: Path, user: ServiceUser, text: str) -> Path:
    """``tmp/gateway.toml``: ``text`` and the ``[service]`` table, beside the state folder, both owned as
    the installer leaves them (the configuration 0640 in the service user's group)."""
    state = tmp / "state"
    state.mkdir(exist_ok=True)
    user.own(state, 0o750)
    config = tmp / "gateway.toml"
    config.write_text(text + f'[service]\nstate_dir = "state"\nuser = "{user.name}"\n')
    config.chmod(0o640)
    if os.geteuid() == 0:
        os.chown(config, 0, user.gid)
    return config


def by_what(findings: list[Finding]) -> dict[str, Finding]:
    return {f.what: f for f in findings}


def test_healthy_installation_is_all_ok(tmp_path: Path, service_user: ServiceUser) -> None:
    with (
        start_influxd(tmp_path / "influx") as influx,
        mosquitto_with_password(tmp_path / "mqtt", "gateway", "s3cret-pass") as mqtt_port,
        serial_pty(tmp_path) as tty,
    ):
        service_user.own(tty.resolve(), 0o660)
        config = write_config(tmp_path, service_user, serial=tty, influx_url=influx.url, mqtt_port=mqtt_port)
        findings = diagnose(config, probes=fake_machine(tmp_path / "machine", service_user))
    report = "\n".join(map(str, findings))
    assert exit_code(findings) == 0, report
    lines = by_what(findings)
    assert lines["config"].message.endswith("is valid (site 'doctor-test')")
    assert lines[f"serial {tty} (bus rs485)"].message == "present and accessible"
    assert lines["bluetooth hci0"].message == "adapter present, not blocked, scanning allowed (1 sensors)"
    assert "gpiochip0 accessible (1 relays and inputs configured)" in lines["gpio"].message
    assert lines["sink local (influx-v1)"].message == "reachable and authorised, database 'village' exists"
    assert lines["sink mqtt (mqtt)"].message == f"connected to 127.0.0.1:{mqtt_port} as gateway"
    assert lines["clock"].message == "synchronised (manual clock)"
    assert lines[f"state {tmp_path / 'state'}"].message == f"owned by {service_user.name}, mode 0750"
    assert lines[f"secret {tmp_path / 'secrets/mqtt.pass'}"].message.endswith("only (mode 0600)")
    assert all(str(f).startswith("OK   ") for f in findings)


def test_broken_installation_says_what_to_do(tmp_path: Path, service_user: ServiceUser) -> None:
    dead_port = free_port()
    with (
        mosquitto_with_password(tmp_path / "mqtt", "gateway", "the-real-one") as mqtt_port,
        start_victoria(tmp_path / "vm") as victoria,
    ):
        extra = (f'[sinks.remote]\nkind = "influx-v2"\nurl = "{victoria.url}"\norg = "cc"\nbucket = "v"\n'
                 'token_file = "secrets/remote.token"\n')
        config = write_config(
            tmp_path, service_user, serial=tmp_path / "ttyUSB9", influx_url=f"http://127.0.0.1:{dead_port}",
            mqtt_port=mqtt_port, extra=extra, mqtt_password="wrong-password",
        )
        (tmp_path / "secrets/remote.token").write_text("tok\n")
        (tmp_path / "secrets/remote.token").chmod(0o644)  # readable by everyone
        (tmp_path / "state").chmod(0o755)
        if os.geteuid() == 0:
            os.chown(tmp_path / "state", 0, 0)  # not the service user's
        probes = fake_machine(tmp_path / "machine", service_user, rfkill_soft="1")
        probes.sync = ManualClock(datetime(2026, 11, 20, tzinfo=UTC), synchronised=False)
        findings = diagnose(config, probes=probes)
    report = "\n".join(map(str, findings))
    assert exit_code(findings) == 2, report
    lines = by_what(findings)
    assert lines[f"serial {tmp_path / 'ttyUSB9'} (bus rs485)"].level == "FAIL"
    assert "plug in the RS-485 adapter" in lines[f"serial {tmp_path / 'ttyUSB9'} (bus rs485)"].message
    assert str(lines["bluetooth hci0"]) == "FAIL bluetooth hci0: blocked by rfkill: sudo rfkill unblock bluetooth"
    local = lines["sink local (influx-v1)"]
    assert local.level == "FAIL"
    assert f"http://127.0.0.1:{dead_port} unreachable" in local.message
    mqtt = lines["sink mqtt (mqtt)"]
    assert mqtt.level == "FAIL"
    assert "credentials refused" in mqtt.message
    remote = lines["sink remote (influx-v2)"]
    assert remote.level == "WARN"
    assert "no buckets API" in remote.message
    clock = lines["clock"]
    assert clock.level == "WARN"
    assert "not synchronised (manual clock)" in clock.message
    assert "safe mode" in clock.message
    token = lines[f"secret {tmp_path / 'secrets/remote.token'}"]
    assert str(token).startswith("FAIL")
    assert f"sudo chmod 0600 {tmp_path / 'secrets/remote.token'}" in token.message
    state = lines[f"state {tmp_path / 'state'}"]
    if os.geteuid() == 0:
        assert state.level == "FAIL"
        assert f"sudo chown -R nobody:nobody {tmp_path / 'state'}" in state.message
    else:
        assert state.level == "WARN"
        assert "sudo chmod 0750" in state.message


def test_serial_port_the_service_user_cannot_open(tmp_path: Path, service_user: ServiceUser) -> None:
    if os.geteuid() != 0:
        pytest.fail("this check needs root to give the pty to another owner; run the suite as in CI")
    with serial_pty(tmp_path) as tty:
        os.chown(tty.resolve(), 0, 0)
        tty.resolve().chmod(0o600)
        from gateway.config import parse_config
        from gateway.doctor import check_serial

        config = parse_config(
            '[site]\nid="x"\nname="X"\nlatitude=1\nlongitude=1\n[buildings.b]\nname="B"\n'
            f'[buses.l]\nkind="rtu"\nport="{tty}"\n'
        )
        (finding,) = check_serial(config, Account.lookup("nobody"))
    assert finding.level == "FAIL"
    assert "nobody cannot read and write it (owner root, group root, mode 0600)" in finding.message


def test_invalid_config_and_exit_codes_from_the_command_line(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[site]\nid = "Bad Id"\nname = "X"\nlatitude = 1\nlongitude = 1\n[service]\nloglevel = 1\n')
    result = subprocess.run([sys.executable, "-m", "gateway.cli", "doctor", "--config", str(config)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert f"FAIL config: {config} is invalid" in result.stdout
    assert f"FAIL config: {config}:2: site.id:" in result.stdout
    assert "service.loglevel: unknown key (typo?)" in result.stdout
    assert "clock" in result.stdout  # the clock is still checked
    assert result.stdout.rstrip().endswith("doctor: problems above need fixing")


def test_exit_code_levels() -> None:
    assert exit_code([Finding("OK", "a", "b")]) == 0
    assert exit_code([Finding("OK", "a", "b"), Finding("WARN", "c", "d")]) == 1
    assert exit_code([Finding("WARN", "c", "d"), Finding("FAIL", "e", "f")]) == 2


def test_mqtt_broker_down_is_unreachable(tmp_path: Path) -> None:
    from gateway.doctor import _check_mqtt
    from gateway.schema.mqtt import MqttSinkConfig

    port = free_port()
    finding = _check_mqtt("sink m", MqttSinkConfig(kind="mqtt", host="127.0.0.1", port=port), Probes(timeout_s=2))
    assert finding.level == "FAIL"
    assert f"127.0.0.1:{port} unreachable" in finding.message
    assert "is the broker running?" in finding.message
