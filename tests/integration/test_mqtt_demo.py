"""The example village in demo mode: simulated BLE thermometers (real bytes, four formats, two of
them encrypted) feed the zones with the plant's temperatures, and the zones appear on MQTT."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.config import load_config
from gateway.daemon import Daemon, RunOptions
from gateway.hooks import Hooks
from tests.integration.test_mqtt_sink import wait_for
from tests.support.mosquitto import collect
from tests.support.procs import free_port

pytestmark = pytest.mark.integration

EXAMPLE = Path(__file__).parents[2] / "examples" / "village.toml"
SENSORS = {
    "mairie-t1": "mairie/bureaux",
    "ecole-t1": "ecole/classes",
    "salle-t1": "salle/grande_salle",
    "eglise-t1": "eglise/nef",
}


async def test_demo_ble_sensors_feed_the_zones_and_mqtt(tmp_path, mosquitto) -> None:
    config = load_config(EXAMPLE)
    config = config.model_copy(
        update={
            "sinks": {k: v.model_copy(update={"port": mosquitto.port}) for k, v in config.sinks.items()},
            "buses": {k: v.model_copy(update={"port": free_port()}) for k, v in config.buses.items()},
            "service": config.service.model_copy(update={"state_dir": tmp_path / "state"}),
            # readings reach MQTT after their group commit: every 30 s in the example, 1 s here
            "journal": config.journal.model_copy(update={"commit_interval_s": 1.0}),
        }
    )
    daemon = Daemon(
        config,
        RunOptions(
            demo=True, http=f"127.0.0.1:{free_port()}", hooks=Hooks(sim_ble_interval_s=0.5, plant_period_s=0.5)
        ),
    )
    task = asyncio.create_task(daemon.run())
    try:
        await asyncio.wait_for(daemon.started.wait(), 30)
        core = daemon.core
        assert core is not None
        await wait_for(lambda: all(core.state.snapshot().value(s, "temperature_c") for s in SENSORS), 20)
        plant = daemon.parts.plant
        snap = core.state.snapshot()
        for sensor, zone in SENSORS.items():
            sample = snap.value(sensor, "temperature_c")
            assert sample.value == pytest.approx(plant.zones[zone].model.temperature_c, abs=0.3), sensor
            assert f"{dict(sample.tags)['building']}/{dict(sample.tags)['zone']}" == zone
        assert core.metrics.get("gateway_ble_rejected_total", reason="undecryptable") == 0
        assert core.metrics.get("gateway_ble_rejected_total", reason="no_bindkey") == 0
        await wait_for(lambda: core.metrics.get("gateway_mqtt_messages_total", sink="mqtt", kind="state") >= 8, 20)
        got = await collect(mosquitto, ["village/saint-martin/+/+/temperature_c", "homeassistant/#"], seconds=1.0)
        topics = {t for t, _, retained in got if retained}
        assert topics >= {f"village/saint-martin/{zone}/temperature_c" for zone in SENSORS.values()}
        # every configured meter is announced to Home Assistant from its register map, before any reading
        discovery = {t for t in topics if t.startswith("homeassistant/")}
        assert "homeassistant/sensor/saint_martin_mairie_mairie_general_energy_import_kwh/config" in discovery
        assert "homeassistant/sensor/saint_martin_ecole_ecole_eau_water_m3/config" in discovery
        assert "homeassistant/sensor/saint_martin_salle_grande_salle_power_w/config" in discovery
    finally:
        daemon.stop()
        await asyncio.wait_for(task, 30)
