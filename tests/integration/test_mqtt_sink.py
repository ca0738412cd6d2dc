"""The MQTT sink in the real daemon against a real mosquitto on 127.0.0.1.

Story: Saint-Martin's salle des fêtes has a BLE thermometer (simulated radio, real advert bytes)
and a heating relay; the mairie has a meter. Home Assistant and the intercommunality listen on
the village's broker; the secretary's phone app sends overrides over MQTT.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.config import load_config
from gateway.daemon import Daemon, RunOptions
from gateway.hooks import Hooks
from gateway.model import Event, Reading
from tests.support.mosquitto import Broker, collect, publish
from tests.support.procs import free_port
from tests.support.village import ble_sensor, hall, relay, site

pytestmark = pytest.mark.integration

BASE = "village/saint-martin"

VILLAGE = site(name="Saint-Martin-sur-Loire") + hall() + '[buildings.mairie]\nname = "Mairie"\n'

#: The rest of the village, a ``str.format`` template: the broker's ``port``, ``web_port``, ``state`` dir.
CONFIG = (
    "\n"
    + relay("salle-chauffage", 17)
    + "\n[ble]\nheartbeat_s = 30\n"
    + ble_sensor("salle-t1", "A4:C1:38:02:83:F4", advert_format="pvvx", building="salle", zone="grande_salle")
    + """
[sinks.mqtt]
kind = "mqtt"
host = "127.0.0.1"
port = {port}
qos = 1
max_backoff_s = 2
homeassistant_discovery = true

[journal]
commit_interval_s = 0.1

[web]
listen = "127.0.0.1:{web_port}"

[service]
state_dir = "{state}"
log_level = "info"
"""
)


def write_config(tmp_path: Path, broker: Broker) -> Path:
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    path = tmp_path / "village.toml"
    path.write_text(VILLAGE + CONFIG.format(port=broker.port, web_port=free_port(), state=state))
    return path


def sim_radio(temperature: float = 18.5, interval_s: float = 0.1):
    from drivers.sim.ble_adverts import SimSensor, SimulatedRadio

    sensor = SimSensor("salle-t1", "A4:C1:38:02:83:F4", "pvvx", "salle", "grande_salle")
    return lambda callback: SimulatedRadio(
        callback, sensors=[sensor], temperature_of=lambda s: temperature, interval_s=interval_s
    )


class Running:
    """The daemon in this process, on the test's event loop."""

    def __init__(self, config_path: Path, **extras) -> None:
        from gpiozero.pins.mock import MockFactory

        self.config = load_config(config_path)
        self.daemon = Daemon(
            self.config,
            RunOptions(
                config_path=config_path,
                pin_factory=MockFactory(),
                hooks=Hooks(ble_radio_factory=sim_radio(), **extras),
            ),
        )
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Running:
        self.daemon.build()
        self.task = asyncio.create_task(self.daemon.run())
        await asyncio.wait_for(self.daemon.started.wait(), 20)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.daemon.stop()
        await asyncio.wait_for(self.task, 30)

    @property
    def core(self):
        return self.daemon.core

    @property
    def sink(self):
        return next(s for s in self.daemon.services if s.name == "sink:mqtt")

    def meter(self, power_w: float, *, at: datetime | None = None) -> None:
        core = self.core
        when = at or core.clock.now()
        core.publish(
            Reading.make(
                "meter",
                core.tags(device="mairie-general", building="mairie"),
                {"power_w": power_w, "energy_import_kwh": 1234.5},
                time_ns=int(when.timestamp() * 1e9),
            )
        )


async def wait_for(predicate, limit_s: float = 15.0) -> None:
    """Poll a condition on the daemon's metrics/state (what an operator would watch)."""
    async with asyncio.timeout(limit_s):
        while not predicate():  # noqa: ASYNC110 - observing from outside, there is no event to wait on
            await asyncio.sleep(0.05)


def as_dict(messages: list[tuple[str, str, bool]]) -> dict[str, str]:
    return {topic: payload for topic, payload, _ in messages}


async def test_state_is_retained_with_availability_and_home_assistant_discovery(tmp_path, mosquitto) -> None:
    async with Running(write_config(tmp_path, mosquitto)) as gw:
        gw.meter(1520.0)
        await wait_for(lambda: gw.core.metrics.get("gateway_mqtt_messages_total", sink="mqtt", kind="state") >= 4)
        # A subscriber arriving later gets the retained state at once
        got = await collect(mosquitto, [f"{BASE}/#", "homeassistant/#"], seconds=1.5)
    retained = {topic: payload for topic, payload, retain in got if retain}
    assert retained[f"{BASE}/status"] == "online"
    assert float(retained[f"{BASE}/salle/grande_salle/temperature_c"]) == pytest.approx(18.5, abs=0.1)
    assert float(retained[f"{BASE}/salle/grande_salle/humidity_pct"]) > 0
    assert retained[f"{BASE}/mairie/mairie-general/power_w"] == "1520.0"  # a meter without zone: device id
    assert retained[f"{BASE}/mairie/mairie-general/energy_import_kwh"] == "1234.5"
    temp_conf = json.loads(retained["homeassistant/sensor/saint_martin_salle_grande_salle_temperature_c/config"])
    assert temp_conf["state_topic"] == f"{BASE}/salle/grande_salle/temperature_c"
    assert temp_conf["unit_of_measurement"] == "°C"
    assert temp_conf["device_class"] == "temperature"
    assert temp_conf["availability_topic"] == f"{BASE}/status"
    assert temp_conf["device"]["name"] == "Salle des fêtes – Grande salle"
    power_conf = json.loads(retained["homeassistant/sensor/saint_martin_mairie_mairie_general_power_w/config"])
    assert power_conf["unit_of_measurement"] == "W"
    assert power_conf["device_class"] == "power"
    energy_conf = json.loads(
        retained["homeassistant/sensor/saint_martin_mairie_mairie_general_energy_import_kwh/config"]
    )
    assert energy_conf["state_class"] == "total_increasing"
    # after a clean stop the gateway says so
    after = as_dict(await collect(mosquitto, [f"{BASE}/status"], seconds=0.5, until=1))
    assert after[f"{BASE}/status"] == "offline"


async def test_events_are_published_in_order(tmp_path, mosquitto) -> None:
    async with Running(write_config(tmp_path, mosquitto)) as gw:
        listener = asyncio.create_task(collect(mosquitto, [f"{BASE}/events"], seconds=3))
        await asyncio.sleep(0.5)  # subscribed
        now = gw.core.clock.time_ns()
        gw.core.raise_event(Event("leak_suspected", "ecole-eau", "flow all night", now, "alarm", (("litres", 312),)))
        gw.core.raise_event(Event("sensor_stale", "salle-t1", "silent for 15 min", now + 1, "warning"))
        got = await listener
    ours = {("leak_suspected", "ecole-eau"), ("sensor_stale", "salle-t1")}  # the daemon raises its own too
    events = [e for _, payload, _ in got if ((e := json.loads(payload))["kind"], e["subject"]) in ours]
    assert [e["kind"] for e in events] == ["leak_suspected", "sensor_stale"]
    assert events[0]["severity"] == "alarm"
    assert events[0]["data"]["litres"] == 312
    assert events[0]["subject"] == "ecole-eau"
    assert events[0]["message"] == "flow all night"
    assert not any(retain for _, _, retain in got)


async def test_override_commands_go_through_the_control_facade(tmp_path, mosquitto) -> None:
    until = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    # a retained command left on the broker must not apply itself at every (re)connection
    await publish(
        mosquitto,
        f"{BASE}/salle/grande_salle/override/set",
        json.dumps({"mode": "arret", "until": until}),
        retain=True,
    )
    async with Running(write_config(tmp_path, mosquitto)) as gw:
        await wait_for(lambda: gw.core.metrics.get("gateway_mqtt_commands_total", sink="mqtt", result="rejected") == 1)
        await asyncio.sleep(1.1)  # rejection events are throttled to one per second
        control = gw.daemon.parts.control
        assert control.zone("salle", "grande_salle").overrides == ()
        events = asyncio.create_task(collect(mosquitto, [f"{BASE}/events"], seconds=8))
        await asyncio.sleep(0.3)
        # valid: a mode, and a setpoint (booked as that temperature)
        await publish(
            mosquitto,
            f"{BASE}/salle/grande_salle/override/set",
            json.dumps({"mode": "confort", "until": until, "label": "Loto"}),
        )
        await wait_for(lambda: len(control.zone("salle", "grande_salle").overrides) == 1)
        (override,) = control.zone("salle", "grande_salle").overrides
        assert override.mode == "confort"
        assert override.label == "Loto"
        assert override.user == "mqtt"
        assert control.audit_log(1)[0].user == "mqtt"
        await publish(
            mosquitto,
            f"{BASE}/salle/grande_salle/override/set",
            json.dumps({"setpoint": 17.5, "until": until}),
        )
        await wait_for(lambda: len(control.zone("salle", "grande_salle").overrides) == 2)
        overrides = control.zone("salle", "grande_salle").overrides
        assert {(o.mode, o.setpoint_c) for o in overrides} == {("confort", None), (None, 17.5)}
        # invalid: never a crash, an event each (one per second at most)
        for body, topic in [
            ("not json", "salle/grande_salle"),
            (json.dumps({"mode": "turbo", "until": until}), "salle/grande_salle"),
            (json.dumps({"mode": "confort", "until": until}), "salle/cuisine"),
        ]:
            await publish(mosquitto, f"{BASE}/{topic}/override/set", body)
            await asyncio.sleep(1.1)
        got = await events
        rejected = [json.loads(p) for t, p, _ in got if json.loads(p)["kind"] == "mqtt_command_rejected"]
        reasons = " | ".join(e["message"] for e in rejected)
        assert "not JSON" in reasons
        assert "turbo" in reasons
        assert "unknown" in reasons
        assert gw.core.metrics.get("gateway_mqtt_commands_total", sink="mqtt", result="rejected") == 4
        assert gw.core.metrics.get("gateway_mqtt_commands_total", sink="mqtt", result="applied") == 2
        assert any("retained commands are ignored" in e.message for e in gw.core.recent_events)
        assert len(control.zone("salle", "grande_salle").overrides) == 2
        assert gw.task is not None
        assert not gw.task.done()


async def test_broker_restart_while_the_daemon_runs_loses_nothing(tmp_path, mosquitto) -> None:
    async with Running(write_config(tmp_path, mosquitto)) as gw:
        gw.meter(1000.0)
        await wait_for(lambda: gw.core.metrics.get("gateway_mqtt_rows_total", sink="mqtt") >= 1)
        # the broker goes away (and, persistence off, forgets every retained message)
        mosquitto.stop()
        await wait_for(lambda: not gw.sink.connected)
        base = gw.core.clock.now()
        for i in range(50):  # polling and rules go on: readings and an event pile up in the journal
            gw.meter(1000.0 + i, at=base + timedelta(milliseconds=i))
        gw.core.raise_event(Event("sink_down", "mqtt", "broker unreachable", gw.core.clock.time_ns(), "warning"))
        await asyncio.sleep(0.5)
        assert gw.task is not None
        assert not gw.task.done()
        rows_before = gw.core.metrics.get("gateway_mqtt_rows_total", sink="mqtt")
        events_before = gw.core.metrics.get("gateway_mqtt_messages_total", sink="mqtt", kind="event")
        # it comes back: the sink reconnects and drains from its cursor
        mosquitto.start()
        await wait_for(lambda: gw.sink.connected, limit_s=20)
        await wait_for(lambda: gw.core.metrics.get("gateway_mqtt_rows_total", sink="mqtt") >= rows_before + 51)
        # the outage's event was published after the reconnection (acknowledged before the cursor moved)
        assert gw.core.metrics.get("gateway_mqtt_messages_total", sink="mqtt", kind="event") >= events_before + 1
        latest = await collect(mosquitto, [f"{BASE}/mairie/#", f"{BASE}/status"], seconds=1.0)
        events = [
            json.loads(p) for t, p, _ in await collect(mosquitto, [f"{BASE}/#"], seconds=0.3) if t == f"{BASE}/events"
        ]
    assert events == []  # events are not retained: they were delivered live, not replayed to late subscribers
    assert any(e.kind == "sink_down" for e in gw.core.recent_events)
    retained = {t: p for t, p, r in latest if r}
    assert retained[f"{BASE}/mairie/mairie-general/power_w"] == "1049.0"  # the newest value, coalesced
    assert retained[f"{BASE}/status"] == "online"
    assert gw.core.metrics.get("gateway_mqtt_disconnects_total", sink="mqtt") >= 1
    assert gw.core.metrics.get("gateway_mqtt_connected", sink="mqtt") == 0  # stopped
    # every row went through the sink's cursor (nothing skipped), and the outage event was published
    assert gw.core.metrics.get("gateway_mqtt_messages_total", sink="mqtt", kind="event") >= 1


def run_gateway(tmp_path: Path, mosquitto: Broker, *, stdout: int, stderr: int) -> subprocess.Popen[bytes]:
    """A real ``village-gateway run`` process of the test village (BLE off), in its own session."""
    config = write_config(tmp_path, mosquitto)
    config.write_text(config.read_text().replace("[ble]\n", "[ble]\nenabled = false\n"))
    return subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "run", "--config", str(config)],
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "GPIOZERO_PIN_FACTORY": "mock"},
    )


def status_once_online(mosquitto: Broker) -> list[tuple[str, str, bool]]:
    """The gateway's status messages, read again if the first was the retained "offline" of nobody yet."""
    online = asyncio.run(collect(mosquitto, [f"{BASE}/status"], seconds=30, until=1))
    if not online or online[-1][1] != "online":
        online = asyncio.run(collect(mosquitto, [f"{BASE}/status"], seconds=30, until=1))
    return online


def test_last_will_says_offline_when_the_gateway_dies(tmp_path, mosquitto) -> None:
    """A real ``village-gateway run`` process, killed with SIGKILL: the broker publishes the will."""
    proc = run_gateway(tmp_path, mosquitto, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        online = status_once_online(mosquitto)
        assert online[-1][1] == "online", proc.stderr.read().decode() if proc.poll() is not None else online
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        # keepalive is 60 s, but the TCP connection closed without DISCONNECT: mosquitto sends the will now
        after = asyncio.run(collect(mosquitto, [f"{BASE}/status"], seconds=5, until=1))
        assert after == [(f"{BASE}/status", "offline", True)]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


def test_a_broker_gone_at_shutdown_leaves_no_unretrieved_error(tmp_path, mosquitto) -> None:
    """Ctrl-C on the demo stops its broker and the daemon at once. The lost connection is the sink's
    to report, never asyncio's "Future exception was never retrieved ... MqttCodeError" at exit.

    The broker freezes (SIGSTOP) and the daemon is stopped: the sink's final flush waits for the
    broker's acknowledgement of "offline"; then the broker dies and the connection is found lost."""
    proc = run_gateway(tmp_path, mosquitto, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        online = status_once_online(mosquitto)
        assert online[-1][1] == "online"
        assert mosquitto.proc is not None
        mosquitto.proc.send_signal(signal.SIGSTOP)
        proc.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        mosquitto.proc.kill()
        mosquitto.proc.wait()
        out = proc.communicate(timeout=30)[0].decode()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        mosquitto.proc = None
    assert proc.returncode == 0, out
    assert "stopped" in out
    assert "never retrieved" not in out, out
