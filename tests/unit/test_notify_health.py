"""The watchdog's journal liveness check, on a real journal whose commit loop is not running."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from gateway.clock import ManualClock
from gateway.clock_guard import guard_for
from gateway.config import parse_config
from gateway.journal import open_journal
from gateway.metrics import Metrics
from gateway.model import Reading
from gateway.services.system import JournalLiveness, SystemdService, build, health_checks


def test_a_journal_that_stops_committing_makes_the_service_unhealthy(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 11, 20, tzinfo=UTC))
    config = parse_config(f'[site]\nid="v"\nname="V"\nlatitude=47\nlongitude=1\n[service]\nstate_dir="{tmp_path}"\n')
    journal = open_journal(config, metrics=Metrics(), clock=clock)
    try:
        check = JournalLiveness(journal, stall_s=120, monotonic=clock.monotonic)
        assert check() is None  # idle: nothing waiting
        journal.append(Reading.make("meter", {"device": "m"}, {"power_w": 1.0}, time_ns=clock.time_ns()))
        clock.advance(60)
        assert check() is None  # waiting, but not for long
        clock.advance(61)
        assert check() == "no group commit for 121 s with 1 readings waiting"
        journal.commit()  # the commit loop moves again
        assert check() is None
        journal.append(Reading.make("meter", {"device": "m"}, {"power_w": 2.0}, time_ns=clock.time_ns()))
        clock.advance(119)
        assert check() is None
    finally:
        journal.close()


def test_build_registers_the_journal_check(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 11, 20, tzinfo=UTC))
    config = parse_config(f'[site]\nid="v"\nname="V"\nlatitude=47\nlongitude=1\n[service]\nstate_dir="{tmp_path}"\n')
    journal = open_journal(config, metrics=Metrics(), clock=clock)
    try:
        from gateway.core import Core

        core = Core(config=config, clock=clock, journal=journal)
        checks = health_checks(config, core)
        services = build(config, core, guard=guard_for(config, core), checks=checks)
        assert [s.name for s in services] == ["clock", "systemd"]
        assert isinstance(checks["journal"], JournalLiveness)
        systemd = services[1]
        assert isinstance(systemd, SystemdService)
        assert systemd.problems() == []
        assert systemd.status_line() == "running; clock trusted"
    finally:
        journal.close()
