"""A thermometer dead for 72 h, told to the real daemon (issue 10): the fail-safe that follows the weather.

The salle des fêtes on MockFactory pins (an active-low heater relay), its thermometer and the outdoor one
published by the simulated plant (the two-node model of the archetype, real capacities), time driven by a
manual clock: 72 h of story time in two-minute steps, the daemon's rules deciding once a step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.hil.conftest import PARIS, Village, running_village, village_config
from tests.support.village import EVENINGS, hall, site

pytestmark = pytest.mark.hil  # about 5 s a story

HORS_GEL_C, CONFORT_C = 8.0, 19.0
LOW_C, HIGH_C = HORS_GEL_C - 0.5, CONFORT_C + 0.5
STALE_MIN = 15
#: the band is judged once the fail-safe has had time to act (tests/unit/test_failsafe_sim.py says why)
JUDGED_AFTER_MIN = 2 * STALE_MIN
OUTAGE_H = 72
STEP_S = 120.0

HEATING = """outdoor_sensor = "exterieur"
failsafe = { stale_after_min = STALE_MIN, mode = "MODE" }
optimum_start = { max_preheat_h = 8 }
model = { archetype = "salle-des-fetes-1980", floor_area_m2 = 300 }
"""


def _config(outdoor: str, tmp_path: Path, mode: str = "model") -> Any:
    heating = HEATING.replace("STALE_MIN", str(STALE_MIN)).replace("MODE", mode)
    text = (
        site("hil", "Banc HIL", timezone="Europe/Paris")
        + hall(sensor="salle-thermo", schedule=EVENINGS, heating=heating)
        + f"""
[gpio.relays.salle-chauffage]
pin = 24
active_high = false
boot = "off"
building = "salle"
zone = "grande_salle"

[simulation]
seed = 3
outdoor = {outdoor}
[simulation.zones."salle/grande_salle"]
archetype = "salle-des-fetes-1980"
floor_area_m2 = 300
initial_c = 12.0

[journal]
commit_interval_s = 0.2

[service]
state_dir = "{{state_dir}}"
"""
    )
    return village_config(text, tmp_path)


@dataclass
class Story:
    """What the 72 h looked like: the hall's air, the outdoor temperature and the relay, step by step."""

    times: list[datetime]
    air: list[float]
    outdoor: list[float]
    heating: list[bool]

    def duty(self, hours: range) -> float:
        """The heater's share of the steps whose local hour is in ``hours``."""
        picked = [on for t, on in zip(self.times, self.heating, strict=True) if t.hour in hours]
        return sum(picked) / len(picked)


COLD_SPELL = '{ preset = "cold", sensor = "exterieur" }'  # nights at −7 °C and below
MILD_SPELL = '{ preset = "mild", mean_c = 15.0, sensor = "exterieur" }'  # a +15 °C spell
SPELLS = ["cold-spell", "15-degree-spell"]
START = datetime(2026, 1, 11, 12, 0, tzinfo=PARIS)  # Sunday noon; silent from Monday 00:00


async def _silent_for_72_h(village: Village) -> Story:
    """Given the hall read for twelve hours (the rules' model learns its structure's temperature), When its
    thermometer falls silent for 72 h, the story of every step."""
    await village.advance(12 * 60, step_s=STEP_S)
    village.plant.silence("salle-thermo")
    silent_at = village.now
    story = Story([], [], [], [])
    while village.now < silent_at + timedelta(hours=OUTAGE_H):
        await village.advance(STEP_S / 60, step_s=STEP_S)
        if village.now >= silent_at + timedelta(minutes=JUDGED_AFTER_MIN):
            story.times.append(village.now)
            story.air.append(village.hall_temperature())
            story.outdoor.append(village.plant.weather.temperature_c(village.clock.time_ns()))
            story.heating.append(village.heater_energised())
    return story


@pytest.mark.parametrize(
    ("outdoor", "cold"),
    [(COLD_SPELL, True), (MILD_SPELL, False)],
    ids=SPELLS,
)
async def test_a_thermometer_silent_for_72_h_keeps_the_hall_in_the_band(tmp_path: Path, outdoor: str, cold: bool):
    async with running_village(_config(outdoor, tmp_path), START, plant_period_s=STEP_S) as village:
        story = await _silent_for_72_h(village)
        # Then the hall stays between hors-gel − 0.5 °C and confort + 0.5 °C
        if cold:
            assert min(story.outdoor) <= -7.0
        else:
            assert sum(story.outdoor) / len(story.outdoor) >= 14.0
        assert min(story.air) >= LOW_C, round(min(story.air), 2)
        assert max(story.air) <= HIGH_C, round(max(story.air), 2)
        # And the relay follows the model's duty: it cycles, and harder in the cold of the night than in the
        # afternoons (a fixed duty would not care), every switch saying the model holds a safe setpoint
        switches = [s for s in village.switches_of("salle-chauffage") if s.at >= story.times[0]]
        assert sum(s.on for s in switches) >= 3
        assert all("le modèle du bâtiment l’estime" in s.reason for s in switches), switches[0].reason
        if cold:
            assert story.duty(range(7)) > story.duty(range(12, 17))
        # And the fail-safe's reason is journaled: the relay's points carry it, an event names the model
        silent_ns = int((story.times[0] - timedelta(minutes=JUDGED_AFTER_MIN)).timestamp() * 1e9)
        stale = [e for e in village.events if e.kind == "sensor_stale" and e.time_ns >= silent_ns]
        assert [e.subject for e in stale] == ["salle/grande_salle"]
        assert "chauffe guidée par le modèle du bâtiment et la température extérieure" in stale[0].message
        assert village.zone().stale


@pytest.mark.parametrize(("outdoor", "cold"), [(COLD_SPELL, True), (MILD_SPELL, False)], ids=SPELLS)
async def test_the_legacy_fixed_duty_leaves_the_band(tmp_path: Path, outdoor: str, cold: bool):
    # Given the same hall with failsafe.mode = "duty" (10 minutes an hour, blind to the weather)
    async with running_village(_config(outdoor, tmp_path, "duty"), START, plant_period_s=STEP_S) as village:
        story = await _silent_for_72_h(village)
        # Then the hall freezes in the cold spell, or overheats in the mild one: the model is what holds the band
        if cold:
            assert min(story.air) < LOW_C
        else:
            assert max(story.air) > HIGH_C
