"""The control service on its own: a core, MockFactory pins, a manual clock, a journal recorder."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from gpiozero.pins.mock import MockFactory

from gateway.clock_guard import guard_for
from gateway.config import parse_config
from gateway.daemon import RunOptions
from gateway.hooks import Hooks
from gateway.model import Reading
from gateway.services.control import build
from tests.support.village import bureaux, gpio_input, recorded_core, relay

PARIS = ZoneInfo("Europe/Paris")

CONFIG = (
    "\n"
    + bureaux()
    + 'schedule = [{{ days = "daily", start = "08:00", end = "18:00" }}]\n'
    + "optimum_start = {{ enabled = false }}\n"
    + relay("chauffage", 17)
    + gpio_input("eau", 5, kind="pulse", quantity="water_m3", scale=0.001, debounce_ms=0, building="mairie")
    + '[service]\nstate_dir = "{state}"\n'
)


@contextlib.asynccontextmanager
async def control(
    tmp_path: Path,
    start: datetime,
    initial_c: float | None = None,
    grace_s: float = 0.0,
    text: str = CONFIG,
    tick_s: float = 3600.0,
) -> AsyncIterator[Any]:
    config = parse_config(text.format(state=tmp_path / "state"))
    core, journal, clock = recorded_core(config, start)
    options = RunOptions(
        clock=clock, pin_factory=MockFactory(), hooks=Hooks(control_tick_s=tick_s, control_startup_grace_s=grace_s)
    )
    guard = guard_for(config, core)  # the daemon's one clock guard, as the daemon builds it
    service = build(config, core, bank=None, pins=options.pin_factory, guard=guard, hooks=options.hooks).service
    service.prepare()
    if initial_c is not None:  # the thermometer reported just before the start
        temperature(service, initial_c)
    task = asyncio.create_task(service.run())
    await asyncio.sleep(0)
    service.journal = journal
    service.factory = options.pin_factory
    service.options = options
    try:
        yield service
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        service.store.close()


def temperature(service: Any, value: float) -> None:
    service.core.publish(
        Reading.make(
            "climate", {"site": "t", "device": "t1"}, {"temperature_c": value}, time_ns=service.clock.time_ns()
        )
    )


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_each_relay_change_is_journaled_once_with_its_reason(tmp_path):
    async with control(tmp_path, datetime(2026, 11, 30, 9, 0, tzinfo=PARIS), initial_c=17.0) as service:
        # Given the office cold during opening hours
        await settle()
        relay = service.journal.of("relay")
        assert len(relay) == 1
        fields = relay[0].field_map()
        assert fields["on"] is True
        assert "Chauffage allumé" in str(fields["reason"])
        assert relay[0].tag("device") == "chauffage"
        # When the rules re-assert the same state many times
        for _ in range(5):
            service.tick()
        # Then nothing new is journaled (one point per change, not per tick)
        assert len(service.journal.of("relay")) == 1
        assert service.core.metrics.get("gateway_relay_switches_total", relay="chauffage") == 1


async def test_pulses_are_counted_journaled_and_survive_a_restart(tmp_path):
    start = datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)
    async with control(tmp_path, start) as service:
        pin = service.factory.pin(5)
        for _ in range(3):  # 1 L a pulse, no faster than the meter can (60 m3/h: one every 60 ms)
            pin.drive_high()
            pin.drive_low()
            await asyncio.sleep(0.07)
        await settle()
        values = [r.field_map()["water_m3"] for r in service.journal.of("input")]
        assert values == pytest.approx([0.001, 0.002, 0.003])
    # after a restart the counter goes on from where it was (the leak rules need a monotonic counter)
    async with control(tmp_path, start + timedelta(minutes=5)) as service:
        pin = service.factory.pin(5)
        pin.drive_high()
        await settle()
        assert service.journal.of("input")[-1].field_map()["water_m3"] == pytest.approx(0.004)


async def test_pulses_faster_than_the_meter_can_give_are_never_journaled_and_are_counted(tmp_path):
    # Given the town hall's water meter on a pulse input (1 L a pulse; water: at most 60 m3/h)
    async with control(tmp_path, datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)) as service:
        pin = service.factory.pin(5)
        # When interference on the cable makes ten pulses within a millisecond
        for _ in range(10):
            pin.drive_high()
            pin.drive_low()
        await settle()
        # Then the journal holds no more than the meter could have given (the slack of one pulse)...
        values = [r.field_map()["water_m3"] for r in service.journal.of("input")]
        assert values == pytest.approx([0.001, 0.002])
        # ...and the rest is counted, for /metrics and the Système page
        assert service.core.metrics.get("gateway_gpio_implausible_pulses_total", input="eau") == 8


async def test_a_failing_evaluation_keeps_the_relays_and_is_counted(tmp_path, monkeypatch):
    async with control(tmp_path, datetime(2026, 11, 30, 9, 0, tzinfo=PARIS), initial_c=17.0) as service:
        await settle()
        assert service.bank.get("chauffage") is True

        def broken(*_args: Any) -> Any:
            raise ZeroDivisionError("a bug in the rules")

        monkeypatch.setattr("rules.engine.decide", broken)
        assert service.evaluate("tick") is None
        assert service.bank.get("chauffage") is True
        assert service.core.metrics.get("gateway_rules_errors_total") == 1


async def test_engine_memory_and_switch_times_survive_a_restart(tmp_path):
    start = datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)
    async with control(tmp_path, start, initial_c=17.0) as service:
        assert service.bank.get("chauffage") is True  # 09:00 on
        service.clock.advance(5 * 60)
        temperature(service, 25.0)
        await settle()
        assert service.bank.get("chauffage") is False  # 09:05 off
        history = service.last_decision.memory.zones["mairie/bureaux"].history
    # When the daemon restarts a minute later (the relay boots off, as it was)
    async with control(tmp_path, start + timedelta(minutes=6), initial_c=17.0) as service:
        # Then the engine memory is back and the switch at 09:05 still counts: minimum off time (3 min)
        assert service.memory.current.zones["mairie/bureaux"].history[: len(history)] == history
        assert service.bank.get("chauffage") is False
        assert "durée minimale d’arrêt" in service.control.zone("mairie", "bureaux").status.reason
        service.clock.advance(3 * 60)
        temperature(service, 17.0)
        await settle()
        assert service.bank.get("chauffage") is True


async def test_the_facade_shows_a_stale_sensor_as_an_alert_until_it_recovers(tmp_path):
    async with control(tmp_path, datetime(2026, 11, 30, 9, 0, tzinfo=PARIS), initial_c=18.0) as service:
        await settle()
        assert service.control.overview().alerts == ()
        zone = service.control.overview().zones[0]
        assert (zone.temperature_c, zone.stale, zone.mode) == (18.0, False, "confort")
        service.clock.advance(20 * 60)
        service.tick()
        alerts = service.control.overview().alerts
        assert [(a.kind, a.subject, a.severity) for a in alerts] == [("sensor_stale", "mairie/bureaux", "warning")]
        assert service.control.overview().zones[0].stale
        temperature(service, 18.0)
        await settle()
        assert service.control.overview().alerts == ()


async def test_at_start_relays_wait_at_their_boot_state_for_the_first_readings(tmp_path):
    # Given a restart with a 0.3 s start-up grace and no reading yet
    async with control(tmp_path, datetime(2026, 11, 30, 9, 0, tzinfo=PARIS), grace_s=0.3) as service:
        await settle()
        # Then nothing is decided yet: no stale-sensor warning, the heater at its boot state
        assert service.evaluations == 0
        assert service.bank.get("chauffage") is False
        # When the thermometer reports within the grace, then the grace ends
        temperature(service, 17.0)
        await settle()
        assert service.evaluations == 0
        await asyncio.sleep(0.4)
        # Then the first evaluation sees the reading: heating, and no warning was raised
        assert service.evaluations == 1
        assert service.bank.get("chauffage") is True
        assert [e.kind for e in service.core.recent_events] == []


async def test_a_clock_step_shifts_the_shells_stamps_at_the_next_evaluation(tmp_path):
    start = datetime(2026, 11, 27, 9, 0, tzinfo=PARIS)  # office hours: confort
    async with control(tmp_path, start, initial_c=15.0) as service:
        await settle()
        assert service.bank.get("chauffage")  # on since 09:00
        since = service.outputs.since["chauffage"]
        service.clock.advance(60)
        old = service.clock.time_ns()
        temperature(service, 15.1)  # measured before the step
        service.clock.jump(-3600)  # NTP steps the wall clock back an hour
        temperature(service, 15.2)  # measured after: both the state store and control take 15.2
        await settle()
        assert service.outputs.since["chauffage"] == since - 3600 * 10**9
        state = service.state_at(service.clock.now())
        assert state.readings[("t1", "temperature_c")].value == 15.2
        assert state.readings[("t1", "temperature_c")].time_ns == service.clock.time_ns()
        # the state store keeps the latest reading by arrival too (gateway.state, b1c5695)
        assert service.core.state.snapshot().value("t1", "temperature_c").value == 15.2
        assert old > service.clock.time_ns()
        assert any(e.kind == "clock_step" for e in service.core.recent_events)
        # behind the last time seen: not trusted, so the zone runs at the safe mode (eco)
        assert service.last_decision.zones[0].mode == "reduit"
        assert service.last_decision.zones[0].reason.param("source") == "clock"


async def test_a_clock_losing_its_synchronisation_puts_the_zone_in_safe_mode(tmp_path):
    start = datetime(2026, 11, 27, 9, 0, tzinfo=PARIS)
    async with control(tmp_path, start, initial_c=17.0) as service:
        assert service.bank.get("chauffage")  # confort 19, 17 °C
        service.clock.advance(4 * 60)  # past the minimum on time
        temperature(service, 17.0)
        service.clock.set_synchronised(False)
        service.guard.check()
        service.tick()
        zone = service.last_decision.zones[0]
        assert (zone.mode, zone.target_c) == ("reduit", 16.0)
        assert not service.bank.get("chauffage")
        assert "horloge non fiable" in service.control.zone("mairie", "bureaux").status.reason


def bad_override_row(service: Any, mode: str) -> None:
    """An override row edited by hand in settings.sqlite (the façade would refuse this mode)."""
    start = service.clock.time_ns() - 60 * 10**9
    service.store._db.execute(
        "INSERT INTO overrides (kind, subject, start_ns, end_ns, label, mode, user, created_ns)"
        " VALUES ('zone', 'mairie/bureaux', ?, ?, 'à la main', ?, 'sqlite3', ?)",
        (start, start + 4 * 3600 * 10**9, mode, start),
    )
    service.store.version += 1


async def test_a_malformed_override_row_is_skipped_counted_and_raised_once(tmp_path, caplog):
    async with control(tmp_path, datetime(2026, 11, 30, 9, 0, tzinfo=PARIS), initial_c=17.0) as service:
        await settle()
        assert service.bank.get("chauffage") is True
        # Given a row with a mode the rules do not know ("Confort", capitalised by hand)
        bad_override_row(service, "Confort")
        # When the rules run several times
        for _ in range(5):
            service.clock.advance(30)
            temperature(service, 17.0)
            service.tick()
        # Then the row is skipped: the rules still evaluate, on the schedule, and the heater keeps heating
        assert service.core.metrics.get("gateway_rules_errors_total") == 0
        assert service.last_decision.zones[0].mode == "confort"
        assert service.bank.get("chauffage") is True
        assert service.core.metrics.get("gateway_settings_rows_skipped_total") == 5
        # said once (log and event), not once per tick
        events = [e for e in service.core.recent_events if e.kind == "settings_row_invalid"]
        assert len(events) == 1
        assert "Confort" in events[0].message
        assert len([r for r in caplog.records if "skipped" in r.getMessage()]) == 1


async def test_failing_rules_put_the_heating_to_its_safe_level_with_one_alarm_per_episode(
    tmp_path, monkeypatch, caplog
):
    from rules import engine

    async with control(tmp_path, datetime(2026, 11, 30, 9, 0, tzinfo=PARIS), initial_c=17.0) as service:
        await settle()
        assert service.bank.get("chauffage") is True
        real = engine.decide

        def broken(*_args: Any) -> Any:
            raise ZeroDivisionError("a bug in the rules")

        # Given the rules failing at every evaluation (the readings stopped, too)
        monkeypatch.setattr("rules.engine.decide", broken)
        service.tick()
        assert service.bank.get("chauffage") is True  # one failure: the relays keep their state
        for _ in range(72):
            service.clock.advance(30)
            service.tick()
        # Then the heater is off from the second failure on, with one alarm and one traceback
        assert service.bank.get("chauffage") is False
        assert service.core.metrics.get("gateway_rules_errors_total") == 73
        assert service.core.metrics.get("gateway_rules_ok") == 0
        assert [e.kind for e in service.core.recent_events if e.kind.startswith("rules_")] == ["rules_failed"]
        assert len([r for r in caplog.records if r.exc_info]) == 1
        off = service.journal.of("relay")[-1].field_map()
        assert off["on"] is False
        assert "sécurité" in str(off["reason"])
        # the overview says so: not evaluated (/health's rules_evaluated), the alarm among the alerts
        overview = service.control.overview()
        assert overview.evaluated_at is None
        assert [(a.kind, a.severity) for a in overview.alerts] == [("rules_failed", "alarm")]
        # When the rules work again
        monkeypatch.setattr("rules.engine.decide", real)
        temperature(service, 17.0)
        service.tick()
        # Then control resumes (the heater back on: its minimum off time has long passed), once said
        assert service.bank.get("chauffage") is True
        assert service.core.metrics.get("gateway_rules_ok") == 1
        kinds = [e.kind for e in service.core.recent_events if e.kind.startswith("rules_")]
        assert kinds == ["rules_failed", "rules_failed_end"]
        assert service.control.overview().evaluated_at is not None
        assert service.control.overview().alerts == ()


async def test_failing_rules_keep_lighting_at_its_boot_state_and_pilot_wire_at_hors_gel(tmp_path):
    text = CONFIG + """
[buildings.mairie.zones.salle]
name = "Salle"
[buildings.mairie.zones.salle.heating]
pilot_wire = {{ plus = "fp-plus", minus = "fp-minus" }}
schedule = [{{ days = "daily", start = "08:00", end = "18:00" }}]
[gpio.relays.fp-plus]
pin = 22
[gpio.relays.fp-minus]
pin = 23
[gpio.relays.lampes]
pin = 24
boot = "on"
[gpio.relays.vanne]
pin = 25
[lighting.circuits.parvis]
relay = "lampes"
"""
    async with control(tmp_path, datetime(2026, 11, 30, 9, 0, tzinfo=PARIS), initial_c=17.0, text=text) as service:
        await settle()
        assert service.safe_levels() == {"chauffage": False, "fp-plus": False, "fp-minus": True, "lampes": True}
        service.bank.set("lampes", False)
        service.bank.set("vanne", True)  # not driven by the rules: left alone
        service._rules_failed("tick")
        service._rules_failed("tick")
        assert service.bank.relay_states() == {
            "chauffage": False,
            "fp-plus": False,
            "fp-minus": True,
            "lampes": True,
            "vanne": True,
        }


async def test_on_shutdown_every_relay_goes_back_to_its_boot_state(tmp_path):
    text = CONFIG.replace("[gpio.relays.chauffage]\npin = 17", "[gpio.relays.chauffage]\npin = 17\nactive_high = false")
    async with control(tmp_path, datetime(2026, 11, 30, 9, 0, tzinfo=PARIS), initial_c=17.0, text=text) as service:
        await settle()
        assert service.bank.get("chauffage") is True
        assert service.factory.pin(17).state is False  # active low: energised
    # the service stopped: the relay is off again, pin high, before gpiozero's exit hook closes it
    assert service.bank.get("chauffage") is False
    assert service.factory.pin(17).state is True


async def test_a_relay_on_at_boot_without_memory_is_cut_after_its_maximum_run(tmp_path):
    text = CONFIG.replace("[gpio.relays.chauffage]\npin = 17", '[gpio.relays.chauffage]\npin = 17\nboot = "on"')
    text = text.replace("optimum_start = {{ enabled = false }}", "optimum_start = {{ enabled = false }}\nmax_on_h = 1")
    start = datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)
    async with control(tmp_path, start, initial_c=15.0, text=text) as service:
        # Given a heater on from boot (no saved memory) in a room that stays cold
        await settle()
        assert service.bank.get("chauffage") is True
        assert service.core.metrics.get("gateway_relay_switches_total", relay="chauffage") == 0
        for _ in range(59):
            service.clock.advance(60)
            temperature(service, 15.0)
            service.tick()
        assert service.bank.get("chauffage") is True
        # When it has run for its maximum (1 h from the boot)
        service.clock.advance(60)
        temperature(service, 15.0)
        service.tick()
        # Then it is cut
        assert service.bank.get("chauffage") is False
        assert service.last_decision.zones[0].reason.code == "heat_max_on"


async def test_the_tick_follows_monotonic_time_whatever_the_wall_clock_does(tmp_path):
    async with control(tmp_path, datetime(2026, 11, 30, 9, 0, tzinfo=PARIS), initial_c=17.0, tick_s=30.0) as service:
        samples = lambda: len([r for r in service.journal.of("climate") if r.tag("device") == "mairie/bureaux"])  # noqa: E731
        for minute in range(10):
            if minute == 3:
                service.clock.jump(-3600)  # NTP steps the wall clock back an hour
            service.clock.advance(30)
            await settle()
        # one tick (one zone sample) per 30 s of monotonic time, the step notwithstanding
        assert samples() == 10
        assert service.tick_health() is None
        assert service.tick_health() is None
        # a tick that stops coming (the loop never gets to it) is a failing health check: no watchdog ping
        service.clock.advance(200)
        assert service.tick_health() == "no rules tick for 200 s (every 30 s expected)"
        await settle()
        assert service.tick_health() is None


async def test_an_evaluation_failing_after_the_decision_still_leads_to_the_safe_levels(tmp_path, monkeypatch):
    async with control(tmp_path, datetime(2026, 11, 30, 9, 0, tzinfo=PARIS), initial_c=17.0) as service:
        await settle()
        assert service.bank.get("chauffage") is True

        def broken(_decision: Any) -> None:
            raise OSError("the relay board's I2C expander is gone")

        # Given applying the decision fails at every evaluation (the rules themselves work)
        monkeypatch.setattr(service.outputs, "apply", broken)
        service.tick()  # (this raised out of the tick before: nothing counted, nothing made safe)
        assert service.bank.get("chauffage") is True
        service.clock.advance(30)
        service.tick()
        # Then the second failure in a row drives the safe levels, as a failing decision does
        assert service.bank.get("chauffage") is False
        assert service.core.metrics.get("gateway_rules_errors_total") == 2
        assert service.rules_failing
