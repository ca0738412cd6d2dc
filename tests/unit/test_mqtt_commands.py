"""Override commands through the real control façade (settings store in a temp dir), no broker."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.config import parse_config
from gateway.control.facade import Control
from gateway.control.mqtt_commands import CommandHandler
from gateway.control.settings_store import SettingsStore
from gateway.sinks.mqtt import MqttSink
from gateway.sinks.mqtt_topics import Topics
from tests.support.village import hall, recorded_core, site

CONFIG = (
    site()
    + hall(kind=None, schedule=None)
    + """
[gpio.relays.salle-chauffage]
pin = 17
[sinks.mqtt]
kind = "mqtt"
host = "127.0.0.1"
"""
)
TOPIC = "village/saint-martin/salle/grande_salle/override/set"


@pytest.fixture
def sink(tmp_path: Path):
    config = parse_config(CONFIG)
    core, _, clock = recorded_core(config)
    store = SettingsStore(tmp_path / "settings.sqlite")
    control = Control(config=config, store=store, now=clock.now, state=core.state)
    commands = CommandHandler(sink="mqtt", core=core, topics=Topics(config.sinks["mqtt"].topic_prefix, config.site.id), control=control)
    mqtt = MqttSink("mqtt", config.sinks["mqtt"], core=core, journal=core.journal, commands=commands)
    yield mqtt, control, core
    store.close()


def body(**data) -> bytes:
    return json.dumps(data).encode()


def test_a_valid_command_books_the_zone_and_is_audited(sink) -> None:
    mqtt, control, core = sink
    until = (core.clock.now() + timedelta(hours=2)).isoformat()
    assert mqtt.handle_command(TOPIC, body(mode="confort", until=until, label="Loto"))
    (override,) = control.zone("salle", "grande_salle").overrides
    assert (override.mode, override.label, override.user) == ("confort", "Loto", "mqtt")
    assert control.audit_log(1)[0].user == "mqtt"
    assert core.recent_events[-1].kind == "mqtt_override"


def test_a_setpoint_is_booked_as_that_temperature(sink) -> None:
    mqtt, control, core = sink
    until = (core.clock.now() + timedelta(hours=2)).isoformat()
    assert mqtt.handle_command(TOPIC, body(setpoint=17.5, until=until, label="Réunion"))
    (override,) = control.zone("salle", "grande_salle").overrides
    assert (override.setpoint_c, override.mode, override.label) == (17.5, None, "Réunion")
    assert '"setpoint_c":17.5' in control.audit_log(1)[0].new


@pytest.mark.parametrize("setpoint", [23.5, 19.5, 7.0])
def test_a_setpoint_outside_the_zones_bounds_is_refused(sink, setpoint: float) -> None:
    mqtt, control, core = sink
    until = (core.clock.now() + timedelta(hours=2)).isoformat()
    assert control.zone("salle", "grande_salle").setpoint_max_c == 19.0  # R241-26 by default
    assert not mqtt.handle_command(TOPIC, body(setpoint=setpoint, until=until))
    event = core.recent_events[-1]
    assert event.kind == "mqtt_command_rejected"
    assert "between 8 and 19 °C" in event.message
    assert control.zone("salle", "grande_salle").overrides == ()


def test_rejections_raise_an_event_then_are_throttled_but_all_counted(sink) -> None:
    mqtt, _control, core = sink
    for _ in range(5):
        assert not mqtt.handle_command(TOPIC, b"{")
    rejected = [e for e in core.recent_events if e.kind == "mqtt_command_rejected"]
    assert len(rejected) == 1
    assert rejected[0].severity == "warning"
    assert core.metrics.get("gateway_mqtt_commands_total", sink="mqtt", result="rejected") == 5
    core.clock.advance(1.5)
    assert not mqtt.handle_command("village/saint-martin/salle/override/set", b"{}")
    assert "not an override topic" in core.recent_events[-1].message


def test_commands_past_the_rate_are_refused_unread_and_the_zone_cap_holds(sink) -> None:
    from gateway.control.bounds import MAX_PENDING_OVERRIDES
    from gateway.control.mqtt_commands import RATE_BURST, RATE_PER_MIN

    mqtt, control, core = sink
    now = core.clock.now()

    def command(i: int) -> bytes:
        start = now + timedelta(days=1, hours=i)
        return body(mode="confort", start=start.isoformat(), until=(start + timedelta(minutes=30)).isoformat())

    handled = [mqtt.handle_command(TOPIC, command(i)) for i in range(RATE_BURST + 5)]
    assert handled == [True] * RATE_BURST + [False] * 5
    assert core.metrics.get("gateway_mqtt_commands_total", sink="mqtt", result="rate_limited") == 5
    # one more every 60 / RATE_PER_MIN seconds, until the zone holds its share of pending overrides
    for i in range(RATE_BURST, MAX_PENDING_OVERRIDES + 3):
        core.clock.advance(60 / RATE_PER_MIN)
        mqtt.handle_command(TOPIC, command(i))
    assert len(control.zone("salle", "grande_salle").overrides) == MAX_PENDING_OVERRIDES
    assert core.metrics.get("gateway_mqtt_commands_total", sink="mqtt", result="rejected") == 3
    assert "at most 20 overrides not yet ended" in core.recent_events[-1].message
