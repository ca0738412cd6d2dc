"""MQTT commands against a real mosquitto: retained commands refused live and at subscription, a flood
rate-limited and capped, every handled command answered on its ``/result`` topic.

Story: a misconfigured phone app publishes its booking with the retain flag; later a script gone
wrong publishes 800 bookings in a few seconds. Neither may pile up overrides in the hall.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import aiomqtt

from gateway.control.bounds import MAX_PENDING_OVERRIDES
from gateway.control.mqtt_commands import RATE_BURST
from tests.integration.test_mqtt_sink import BASE, Running, wait_for, write_config
from tests.support.mosquitto import collect, publish

SET = f"{BASE}/salle/grande_salle/override/set"
RESULT = f"{BASE}/salle/grande_salle/override/result"


def _count(gw, result: str) -> float:
    return gw.core.metrics.get("gateway_mqtt_commands_total", sink="mqtt", result=result) or 0


async def test_a_retained_command_is_refused_when_it_arrives_live_and_answered(tmp_path, mosquitto) -> None:
    until = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    async with Running(write_config(tmp_path, mosquitto)) as gw:
        await wait_for(lambda: gw.sink.connected)
        await asyncio.sleep(0.3)  # subscribed
        answers = asyncio.create_task(collect(mosquitto, [RESULT], seconds=6, until=2))
        await asyncio.sleep(0.3)
        # published live with the retain flag: the broker forwards it to the gateway at once
        await publish(mosquitto, SET, json.dumps({"mode": "arret", "until": until, "id": "r1"}), retain=True)
        await wait_for(lambda: _count(gw, "rejected") == 1)
        control = gw.daemon.parts.control
        assert control.zone("salle", "grande_salle").overrides == ()
        # the same command without the flag is applied
        await publish(mosquitto, SET, json.dumps({"mode": "confort", "until": until, "id": "ok1"}))
        await wait_for(lambda: _count(gw, "applied") == 1)
        got = [json.loads(p) for _, p, _ in await answers]
    assert got[0]["result"] == "rejected"
    assert "retained" in got[0]["reason"]
    assert got[0]["id"] == "r1"
    assert got[1]["result"] == "applied"
    assert got[1]["id"] == "ok1"
    assert isinstance(got[1]["override"], int)
    assert len(control.zone("salle", "grande_salle").overrides) == 1


async def test_a_flood_of_commands_is_rate_limited_capped_and_counted(tmp_path, mosquitto) -> None:
    now = datetime.now(UTC)
    async with Running(write_config(tmp_path, mosquitto)) as gw:
        await wait_for(lambda: gw.sink.connected)
        await asyncio.sleep(0.3)
        answers = asyncio.create_task(collect(mosquitto, [RESULT], seconds=12))
        await asyncio.sleep(0.3)
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as client:
            for i in range(800):
                start = now + timedelta(hours=i + 1)
                body = {"mode": "confort", "start": start.isoformat(), "until": (start + timedelta(minutes=30)).isoformat()}
                await client.publish(SET, json.dumps(body), qos=1)
        await wait_for(lambda: _count(gw, "applied") + _count(gw, "rate_limited") + _count(gw, "rejected") == 800, 30)
        control = gw.daemon.parts.control
        overrides = control.zone("salle", "grande_salle").overrides
        applied = _count(gw, "applied")
        assert RATE_BURST <= applied <= RATE_BURST + 5  # the burst, and what the rate refilled meanwhile
        assert len(overrides) == applied <= MAX_PENDING_OVERRIDES
        assert _count(gw, "rate_limited") == 800 - applied
        got = [json.loads(p) for _, p, _ in await answers]
        assert gw.task is not None
        assert not gw.task.done()
    results = [a["result"] for a in got]
    assert results.count("applied") == applied  # every handled command is answered
    assert 1 <= results.count("rate_limited") <= 15  # refusals past the rate: one answer a second at most
