"""Time on a Pi without RTC, in the loop: the real daemon, mock pins, the simulated hall, a manual clock.

The clock source is controllable (:class:`gateway.clock.ManualClock`: synchronised or not, wall
time stepped without time passing). Stories: a boot before NTP runs the hall at the safe mode and
the schedule takes over once synchronised; a step of the wall clock (backward or forward, 1 h)
neither stretches nor cuts the minimum on time or the maximum run time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.hil.conftest import HALL, PARIS, Village, running_village, village_config

ZONE = "salle/grande_salle"
SATURDAY_10H = datetime(2026, 11, 28, 10, 0, tzinfo=PARIS)


@pytest.fixture
def scheduled_hall(tmp_path: Any) -> Any:
    """The test hall, occupied daily 08:00–22:00, with a one-hour maximum continuous run."""
    text = HALL.replace(
        "optimum_start = {",
        'schedule = [{ days = "daily", start = "08:00", end = "22:00" }]\nmax_on_h = 1\noptimum_start = {',
    )
    return village_config(text, tmp_path)


def guard_of(village: Village) -> Any:
    return village.daemon.parts.guard


async def test_unsynchronised_at_boot_runs_the_safe_mode_then_the_schedule_once_synchronised(scheduled_hall):
    initial = {"plant_initial_c": {ZONE: 17.0}}
    async with running_village(scheduled_hall, SATURDAY_10H, synchronised=False, **initial) as v:
        await v.advance(2)
        status = v.zone()
        assert guard_of(v).trusted is False
        assert (status.mode, status.target_c) == ("reduit", 16.0)  # safe_heating = "eco" (default)
        assert "horloge non fiable" in status.reason
        assert not v.heater_energised()  # 17 °C is warm enough at eco, although the schedule says confort

        v.clock.set_synchronised(True)
        guard_of(v).check()  # the clock monitor's periodic check
        await v.advance(1)  # the next rules tick
        status = v.zone()
        assert (status.mode, status.target_c) == ("confort", 19.0)
        assert v.heater_energised()
        assert any(e.kind == "clock_trusted" for e in v.events)


async def test_a_backward_step_does_not_stretch_the_minimum_on_time(scheduled_hall):
    async with running_village(scheduled_hall, SATURDAY_10H, plant_initial_c={ZONE: 17.0}) as v:
        assert v.heater_energised()  # confort 19, 17 °C: on since 10:00
        on_at = v.clock.monotonic()
        await v.advance(1)
        v.clock.jump(-3600)  # NTP steps the clock back an hour
        v.plant.set_temperature(ZONE, 25.0)  # hot: the thermostat wants the heater off
        await v.advance(1)
        assert v.heater_energised()  # 2 min of the 3-min minimum on time: held
        assert any(e.kind == "clock_step" for e in v.events)
        while v.heater_energised() and v.clock.monotonic() - on_at < 3600:
            await v.advance(0.5, step_s=30)
        held = v.clock.monotonic() - on_at
        assert 180 <= held <= 240, f"heater held {held:.0f} s (minimum on time 180 s)"
        assert "durée minimale" not in v.switches_of("salle-chauffage")[-1].reason


@pytest.mark.parametrize("step_s", [-3600, 3600])
async def test_a_clock_step_neither_delays_nor_advances_the_maximum_run(scheduled_hall, step_s: float):
    async with running_village(scheduled_hall, SATURDAY_10H, plant_initial_c={ZONE: 12.0}) as v:
        assert v.heater_energised()
        on_at = v.clock.monotonic()
        for minute in range(130):
            v.plant.set_temperature(ZONE, 12.0)  # a room that never warms: the heater would run on
            if minute == 20:
                v.clock.jump(step_s)
            await v.advance(1)
            if not v.heater_energised():
                break
        ran = v.clock.monotonic() - on_at
        assert 3600 <= ran <= 3660, f"heater ran {ran / 60:.1f} min continuously (maximum 60)"
        assert "durée maximale" in v.switches_of("salle-chauffage")[-1].reason
        started = [e for e in v.events if e.kind == "heater_max_on"]
        assert len(started) == 1
        # a condition, not a blip: it lasts until a reading newer than the cut arrives
        await v.advance(1)
        ended = [e for e in v.events if e.kind == "heater_max_on_end"]
        assert len(ended) == 1
        assert ended[0].time_ns > started[0].time_ns


async def test_the_rules_tick_keeps_its_period_when_the_clock_steps_back(scheduled_hall):
    """The tick follows monotonic time: after NTP steps the wall clock back an hour the rules are
    still evaluated every 30 s, so a thermometer that dies just then trips the fail-safe on time —
    a silent sensor sends no reading, only the tick can notice it."""
    async with running_village(scheduled_hall, SATURDAY_10H, plant_initial_c={ZONE: 12.0}) as v:
        ticks: list[float] = []  # monotonic times of the per-tick zone samples
        core = v.daemon.core
        assert core is not None
        core.on_reading(
            lambda r: ticks.append(v.clock.monotonic())
            if r.measurement == "climate" and r.tag("device") == ZONE
            else None
        )
        await v.advance(2)
        assert v.heater_energised()
        # When NTP steps the clock back an hour and, at the same moment, the thermometer falls silent
        v.clock.jump(-3600)
        v.plant.silence("salle-thermo")
        silent_at = v.clock.monotonic()
        events_before = len(v.events)
        off_after: float | None = None
        for _ in range(120):  # 20 minutes, 10 s at a time
            await v.advance(10 / 60, step_s=10)
            if off_after is None and not v.heater_energised():
                off_after = v.clock.monotonic() - silent_at
        # Then the rules kept ticking every 30 s (40 ticks in 20 minutes)...
        after = [t for t in ticks if t > silent_at]
        assert len(after) >= 39, f"{len(after)} ticks in 20 min after the step"
        assert max(b - a for a, b in zip([silent_at, *after], after, strict=False)) <= 30.0
        # ...and the fail-safe ("off") cut the heater 15 minutes after the last reading, within a tick (the
        # step made the clock untrusted: safe mode eco, 16 °C, still heating the 12 °C hall until then)
        assert off_after is not None
        assert 15 * 60 - 60 <= off_after <= 15 * 60 + 40, f"heater off {off_after:.0f} s after the silence"
        assert any(e.kind == "sensor_stale" for e in v.events[events_before:])
