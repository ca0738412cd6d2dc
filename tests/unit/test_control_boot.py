"""Boot order: relays at their boot state before anything else, even when the start fails later;
a corrupt settings store moved aside rather than stopping the daemon."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from gpiozero.pins.mock import MockFactory

from gateway.clock import ManualClock
from gateway.config import parse_config
from gateway.control.settings_store import SettingsStore
from gateway.daemon import Daemon, RunOptions
from gateway.errors import StorageError
from tests.support.village import bureaux, relay

PARIS = ZoneInfo("Europe/Paris")

CONFIG = (
    "\n"
    + bureaux()
    + 'schedule = [{{ days = "daily", start = "08:00", end = "18:00" }}]\n'
    + relay("chauffage", 17, active_high=False)
    + relay("lampes", 18, boot="on")
    + """[service]
state_dir = "{state}"
"""
)


def options() -> RunOptions:
    return RunOptions(clock=ManualClock(datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)), pin_factory=MockFactory())


def corrupt_settings(state: Path) -> Path:
    state.mkdir(parents=True)
    path = state / "settings.sqlite"
    path.write_bytes(b"this is not a database, a half-written SD card block" * 100)
    return path


def test_relays_are_at_their_boot_state_before_the_journal_is_opened(tmp_path, monkeypatch):
    import gateway.journal

    config = parse_config(CONFIG.format(state=tmp_path / "state"))
    opts = options()
    daemon = Daemon(config, opts)
    seen: dict[str, Any] = {}

    def spy(*args: Any, **kwargs: Any) -> Any:
        # the pins as they are when the journal (the first file the daemon opens) is entered
        seen["claimed"] = daemon.bank is not None
        seen["pins"] = (opts.pin_factory.pin(17).state, opts.pin_factory.pin(18).state)
        raise StorageError("journal: disk I/O error")  # and the start fails right after

    monkeypatch.setattr(gateway.journal, "open_journal", spy)
    with pytest.raises(StorageError):
        daemon.build()
    # active low heater off = pin high; lights boot on (active high) = pin high
    assert seen == {"claimed": True, "pins": (True, True)}
    assert daemon.bank is not None
    assert daemon.bank.relay_states() == {"chauffage": False, "lampes": True}


def test_a_corrupt_settings_store_is_moved_aside_and_the_daemon_starts(tmp_path):
    path = corrupt_settings(tmp_path / "state")
    config = parse_config(CONFIG.format(state=tmp_path / "state"))
    opts = options()
    daemon = Daemon(config, opts)
    core = daemon.build()
    try:
        # the relays are at their boot state, claimed once (control reuses the bank)
        assert daemon.parts is not None
        service = daemon.parts.control_service
        assert service.bank is daemon.bank
        assert service.bank.relay_states() == {"chauffage": False, "lampes": True}
        # the unreadable file is kept aside, a fresh one works
        aside = list(path.parent.glob("settings.sqlite.corrupt-*"))
        assert len(aside) == 1
        assert b"not a database" in aside[0].read_bytes()
        assert service.store.weeks() == {}
        # and people are told what was lost
        (event,) = [e for e in core.recent_events if e.kind == "settings_reset"]
        assert event.severity == "alarm"
        assert "edits made on the admin page" in event.message
        assert aside[0].name in event.message
    finally:
        assert daemon.parts is not None
        daemon.parts.control_service.store.close()
        core.journal.close()


def test_settings_store_open_keeps_a_good_file(tmp_path):
    store = SettingsStore.open(tmp_path / "settings.sqlite")
    store.save_memory({"a": 1}, "engine")
    store.close()
    again = SettingsStore.open(tmp_path / "settings.sqlite")
    try:
        assert again.recovered is None
        assert again.load_memory("engine") == {"a": 1}
    finally:
        again.close()
