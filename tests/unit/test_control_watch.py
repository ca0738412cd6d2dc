"""A village with nothing to control gets the control watch: the same façade, overview and health.

Given a mairie with a zone that is not heated and no relay (nothing for the rules to read or
drive), when the daemon is built, then control is a :class:`gateway.control.watch.WatchService`;
it publishes a view at start and every tick, with no zone, no circuit and the alarms of the last
24 h (resolved ones left out), which the overview and ``/health`` read as after a rules evaluation.
A heated zone, a relay, an input or a lighting circuit gets the control loop, as before.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.clock import ManualClock
from gateway.config import parse_config
from gateway.control.loop import ControlService
from gateway.control.watch import WatchService, rules_have_work
from gateway.daemon import Daemon, RunOptions
from gateway.model import Event
from tests.support.village import building, bureaux, relay, site, zone

PARIS = ZoneInfo("Europe/Paris")
METERED = site("t", "T") + building("mairie", "Mairie", kind="mairie") + zone("mairie", "hall", "Hall")
STATE = '[service]\nstate_dir = "{state}"\n'


@pytest.mark.parametrize(
    ("text", "work"),
    [
        (METERED, False),
        (bureaux() + relay("chauffage", 17), True),  # a heated zone
        (METERED + relay("lampes", 18), True),  # a relay
    ],
)
def test_the_rules_have_work_with_a_zone_or_a_relay(text, work):
    assert rules_have_work(parse_config(text)) is work


async def test_the_watch_publishes_the_overview_and_its_alarms_every_tick(tmp_path):
    clock = ManualClock(datetime(2026, 11, 30, 9, 0, tzinfo=PARIS))
    daemon = Daemon(parse_config(METERED + STATE.format(state=tmp_path / "state")), RunOptions(clock=clock))
    core = daemon.build()
    parts = daemon.parts
    assert parts is not None
    watch = parts.control_service
    assert isinstance(watch, WatchService)
    assert parts.plant is None
    task = asyncio.create_task(watch.run())
    try:
        await asyncio.sleep(0)
        overview = parts.control.overview()
        assert overview.evaluated_at == clock.now()  # /health: rules_evaluated
        assert (overview.zones, overview.circuits, overview.alerts) == ((), (), ())
        core.raise_event(Event("meter_down", "meter-01", "no answer", clock.time_ns(), "alarm"))
        core.raise_event(Event("disk_slow", "journal", "slow", clock.time_ns(), "warning"))
        core.raise_event(Event("disk_slow_end", "journal", "fine", clock.time_ns() + 1, "info"))
        clock.advance(30.0)
        for _ in range(5):
            await asyncio.sleep(0)
        overview = parts.control.overview()
        assert overview.evaluated_at == clock.now()
        assert [(a.kind, a.subject, a.severity) for a in overview.alerts] == [("meter_down", "meter-01", "alarm")]
        assert watch.tick_health() is None
        assert core.metrics.get("gateway_rules_evaluations_total") == 2
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def test_a_heated_zone_still_gets_the_control_loop(tmp_path):
    from gpiozero.pins.mock import MockFactory

    text = bureaux() + relay("chauffage", 17) + STATE.format(state=tmp_path / "state")
    clock = ManualClock(datetime(2026, 11, 30, 9, 0, tzinfo=PARIS))
    daemon = Daemon(parse_config(text), RunOptions(clock=clock, pin_factory=MockFactory()))
    daemon.build()
    assert daemon.parts is not None
    assert isinstance(daemon.parts.control_service, ControlService)
    daemon.parts.control_service.store.close()
