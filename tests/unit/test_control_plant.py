"""The demo's plant: ``[[simulation.outages]]`` silence their sensor while they last, BLE ones included.

Given the example village (mairie-t1, a BLE thermometer, silent on Wednesday 14 January 2026 from
02:00 for 3 h), the plant puts the sensor in the simulated radio's ``silenced`` set (the very set
the BLE service hands to :class:`drivers.sim.ble_adverts.SimulatedRadio`), takes it out when the
outage ends, and — the demo running on today's date — does so every week at that time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gateway.config import load_config
from gateway.hooks import Hooks
from gateway.plant import build_plant
from gateway.services.ble import _sim_factory
from tests.support.village import recorded_core

PARIS = ZoneInfo("Europe/Paris")
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "village.toml"
MAIRIE_T1 = "A4:C1:38:02:83:F4"


@pytest.fixture
def world() -> Any:
    config = load_config(EXAMPLE)
    core, _, clock = recorded_core(config, datetime(2026, 1, 14, 1, 50, tzinfo=PARIS))
    silenced: set[str] = set()
    plant = build_plant(
        config, core, relay_level=lambda name: False, pins=None, hooks=Hooks(), demo=True, ble_silenced=silenced
    )
    factory = _sim_factory(config, zone_temperature=plant.temperature, interval_s=5.0, silenced=silenced)
    radio = factory(lambda device, data: heard.append(device.address))
    heard: list[str] = []
    return SimpleNamespace(plant=plant, clock=clock, silenced=silenced, radio=radio, heard=heard)


def advertised(world: Any) -> set[str]:
    world.heard.clear()
    world.radio.advertise_once()
    return set(world.heard)


def test_a_ble_outage_silences_the_simulated_radio_while_it_lasts(world: Any) -> None:
    silenced = world.silenced
    assert world.radio.silenced is silenced  # the BLE service reads the plant's set
    world.plant.step()
    assert "mairie-t1" not in silenced
    assert MAIRIE_T1 in advertised(world)

    world.clock.advance(10 * 60)  # 02:00: the outage starts
    world.plant.step()
    assert "mairie-t1" in silenced
    assert MAIRIE_T1 not in advertised(world)
    assert advertised(world)  # the other sensors still advertise

    world.clock.advance(3 * 3600 - 60)  # 04:59: still silent
    world.plant.step()
    assert MAIRIE_T1 not in advertised(world)
    world.clock.advance(60)  # 05:00: over
    world.plant.step()
    assert "mairie-t1" not in silenced
    assert MAIRIE_T1 in advertised(world)


def test_outages_recur_weekly_in_the_demo_which_runs_on_todays_date(world: Any) -> None:
    plant = world.plant
    wednesday_3h = datetime(2026, 11, 25, 3, 0, tzinfo=PARIS)  # a Wednesday in November, 03:00
    assert plant.outage_sensors(int(wednesday_3h.timestamp() * 1e9)) == {"mairie-t1"}
    assert plant.outage_sensors(int((wednesday_3h + timedelta(hours=2)).timestamp() * 1e9)) == set()
    assert plant.outage_sensors(int((wednesday_3h + timedelta(days=1)).timestamp() * 1e9)) == set()


def test_a_manual_silence_is_not_undone_by_the_outage_schedule(world: Any) -> None:
    silenced = world.silenced
    world.plant.silence("mairie-t1")
    world.plant.step()  # no outage at 01:50
    assert "mairie-t1" in silenced
    world.plant.silence("mairie-t1", False)
    assert "mairie-t1" not in silenced
