"""The control façade and its settings store: validation, persistence, audit, thread marshalling."""

from __future__ import annotations

import asyncio
import threading
import time as walltime
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from gateway.config import parse_config
from gateway.control.facade import Control
from gateway.control.inputs import effective_site
from gateway.control.settings_store import SettingsStore
from gateway.control.values import ControlBusyError, SchedulePeriod, UnknownSubjectError, ValidationError
from tests.support.village import hall, site

CONFIG = (
    site("t", "Test")
    + hall(sensor="salle-thermo")
    + """
[gpio.relays.salle-chauffage]
pin = 17
[gpio.relays.parvis]
pin = 18
[lighting.circuits.parvis]
relay = "parvis"
"""
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def config():
    return parse_config(CONFIG)


@pytest.fixture
def store(tmp_path: Path):
    s = SettingsStore(tmp_path / "settings.sqlite")
    yield s
    s.close()


@pytest.fixture
def control(config, store):
    return Control(config=config, store=store, now=Clock())


def test_the_configured_week_is_shown_until_edited(control):
    detail = control.zone("salle", "grande_salle")
    assert detail.week_is_default
    assert detail.week == tuple(SchedulePeriod(d, time(18), time(23), "confort") for d in (1, 3, 5))
    assert detail.mode_setpoints == {"confort": 19.0, "reduit": 16.0, "hors_gel": 8.0}
    assert (detail.setpoint_min_c, detail.setpoint_max_c) == (8.0, 19.0)  # hors-gel .. R241-26's 19 °C


def test_an_edited_week_persists_across_restarts_and_is_audited(config, tmp_path):
    # Given an agent who edits the week of the hall
    store = SettingsStore(tmp_path / "s.sqlite")
    Control(config=config, store=store, now=Clock()).set_week_schedule(
        "salle", "grande_salle", [SchedulePeriod(4, time(19), time(0), "confort")], user="marie"
    )
    store.close()
    # When the gateway restarts
    store = SettingsStore(tmp_path / "s.sqlite")
    control = Control(config=config, store=store, now=Clock())
    # Then the edit is still there, and the audit says who changed what, old -> new
    detail = control.zone("salle", "grande_salle")
    assert not detail.week_is_default
    assert detail.week == (SchedulePeriod(4, time(19), time(0), "confort"),)
    entry = control.audit_log()[0]
    assert (entry.user, entry.action, entry.subject) == ("marie", "set_week_schedule", "salle/grande_salle")
    assert entry.old == "default"
    assert entry.new == '[[4,"19:00","00:00","confort"]]'
    # And the rules see it: Friday 19:00-24:00 instead of Tue/Thu/Sat
    site = effective_site(config, store)
    slots = site.zone("salle/grande_salle").heating.schedule
    assert [(s.days, s.start, s.end, s.mode) for s in slots] == [((4,), "19:00", "24:00", "confort")]
    # And a reset brings the configured week back
    control.reset_week_schedule("salle", "grande_salle", user="marie")
    assert control.zone("salle", "grande_salle").week_is_default
    store.close()


@pytest.mark.parametrize(
    ("period", "field", "message"),
    [
        (SchedulePeriod(7, time(8), time(9)), "periods[0].day", "0 (Monday) to 6"),
        (SchedulePeriod(1, time(9), time(8)), "periods[0].end", "after the start"),
        (SchedulePeriod(1, time(8), time(9), "chaud"), "periods[0].mode", "unknown mode"),
        (SchedulePeriod(1, time(8, 0, 30), time(9)), "periods[0].start", "whole minutes"),
    ],
)
def test_bad_periods_are_refused_with_the_field_named_and_nothing_applied(control, period, field, message):
    with pytest.raises(ValidationError) as info:
        control.set_week_schedule("salle", "grande_salle", [period], user="marie")
    assert message in info.value.errors[field]
    assert control.zone("salle", "grande_salle").week_is_default
    assert control.audit_log() == []


def test_overlapping_periods_are_refused(control):
    with pytest.raises(ValidationError) as info:
        control.set_week_schedule(
            "salle",
            "grande_salle",
            [SchedulePeriod(1, time(8), time(12)), SchedulePeriod(1, time(11), time(13))],
            user="m",
        )
    assert "overlaps" in next(iter(info.value.errors.values()))


def test_a_booking_is_validated_stored_and_cancelled(control, store):
    clock = control._now
    start, end = NOW + timedelta(hours=2), NOW + timedelta(hours=11)
    booking = control.add_override(
        "salle", "grande_salle", mode="confort", start=start, end=end, label="Loto", user="marie"
    )
    assert (booking.mode, booking.start, booking.end, booking.label) == ("confort", start, end, "Loto")
    assert control.zone("salle", "grande_salle").overrides == (booking,)
    control.cancel_override(booking.id, user="paul")
    # a future booking cancelled ends before it starts: no longer listed, still in the audit
    assert control.zone("salle", "grande_salle").overrides == ()
    assert [e.action for e in control.audit_log()] == ["cancel_zone_override", "add_zone_override"]
    assert clock() == NOW


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"mode": "sauna", "end": NOW + timedelta(hours=1)}, "mode"),
        ({"mode": "confort", "end": NOW - timedelta(hours=1)}, "end"),
        ({"mode": "confort", "start": NOW + timedelta(hours=3), "end": NOW + timedelta(hours=2)}, "end"),
        ({"mode": "confort", "end": datetime(2026, 11, 28, 2)}, "end"),  # naive
        ({"mode": "confort", "end": NOW + timedelta(days=200)}, "end"),
        ({"mode": "confort", "end": NOW + timedelta(hours=1), "label": "x" * 200}, "label"),
        ({"end": NOW + timedelta(hours=1)}, "mode"),  # neither a mode nor a setpoint
        ({"mode": "confort", "setpoint_c": 18.0, "end": NOW + timedelta(hours=1)}, "setpoint_c"),
        ({"setpoint_c": 19.5, "end": NOW + timedelta(hours=1)}, "setpoint_c"),  # above the 19 °C cap
        ({"setpoint_c": 7.5, "end": NOW + timedelta(hours=1)}, "setpoint_c"),  # below hors-gel
        ({"setpoint_c": float("nan"), "end": NOW + timedelta(hours=1)}, "setpoint_c"),
        ({"setpoint_c": True, "end": NOW + timedelta(hours=1)}, "setpoint_c"),
    ],
)
def test_bad_overrides_name_the_field(control, kwargs, field):
    with pytest.raises(ValidationError) as info:
        control.add_override("salle", "grande_salle", user="m", **kwargs)
    assert field in info.value.errors
    assert control.audit_log() == []


def test_a_setpoint_booking_is_stored_audited_and_survives_a_restart(control, config, store, tmp_path):
    end = NOW + timedelta(hours=2)
    booking = control.add_override("salle", "grande_salle", setpoint_c=17.46, end=end, label="Réunion", user="m")
    assert (booking.mode, booking.setpoint_c) == (None, 17.5)
    assert '"setpoint_c":17.5' in control.audit_log(1)[0].new
    store.close()
    again = SettingsStore(tmp_path / "settings.sqlite")
    try:
        (stored,) = again.overrides()
        assert (stored.setpoint_c, stored.mode, stored.label) == (17.5, None, "Réunion")
    finally:
        again.close()


def test_the_setpoint_cap_is_configurable_per_zone():
    text = CONFIG.replace(
        'sensors = ["salle-thermo"]', 'sensors = ["salle-thermo"]\nmax_setpoint_c = 20\nsetpoints = { confort = 20 }'
    )
    ctl = Control(config=parse_config(text), store=SettingsStore(":memory:"), now=Clock())
    assert ctl.zone("salle", "grande_salle").setpoint_max_c == 20.0
    booking = ctl.add_override("salle", "grande_salle", setpoint_c=20, end=NOW + timedelta(hours=1), user="m")
    assert booking.setpoint_c == 20.0


def test_a_version_1_settings_store_is_migrated_with_its_overrides(tmp_path):
    import sqlite3

    from gateway.control import settings_store

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(f"BEGIN; {settings_store._MIGRATIONS[1]} PRAGMA user_version = 1; COMMIT;")
    db.execute(
        "INSERT INTO overrides (kind, subject, start_ns, end_ns, label, mode, user, created_ns)"
        " VALUES ('zone', 'salle/grande_salle', 1, 2, 'old', 'confort', 'm', 1)"
    )
    db.commit()
    db.close()
    store = SettingsStore(path)
    try:
        (old,) = store.overrides()
        assert (old.mode, old.setpoint_c, old.label) == ("confort", None, "old")
        assert store._db.execute("PRAGMA user_version").fetchone()[0] == settings_store.SCHEMA_VERSION
    finally:
        store.close()


def test_unknown_subjects_are_key_errors(control):
    with pytest.raises(UnknownSubjectError):
        control.zone("salle", "cuisine")
    with pytest.raises(KeyError):
        control.add_lighting_override("nope", on=True, end=NOW + timedelta(hours=1), user="m")
    with pytest.raises(UnknownSubjectError):
        control.cancel_override(99, user="m")


def test_exceptions_and_lighting_overrides(control, config, store):
    exc = control.add_exception("salle", "grande_salle", date(2026, 12, 19), date(2027, 1, 4), "Vacances", user="m")
    with pytest.raises(ValidationError) as info:
        control.add_exception("salle", "grande_salle", date(2027, 1, 4), date(2026, 12, 19), "x", user="m")
    assert "end" in info.value.errors
    periods = effective_site(config, store).zone("salle/grande_salle").heating.exceptions
    assert [(p.name, p.start, p.end, tuple(p.schedule)) for p in periods] == [
        ("Vacances", date(2026, 12, 19), date(2027, 1, 4), ())
    ]
    light = control.add_lighting_override("parvis", on=True, end=NOW + timedelta(hours=1), user="m")
    assert control.circuit("parvis").overrides == (light,)
    control.remove_exception(exc.id, user="m")
    assert control.zone("salle", "grande_salle").exceptions == ()


async def test_changes_from_another_thread_run_in_the_loop_and_re_evaluate(control):
    # Given a façade attached to a running loop whose evaluations are recorded
    loop = asyncio.get_running_loop()
    evaluated_in: list[str] = []
    control.attach(loop, lambda: evaluated_in.append(threading.current_thread().name))
    # When the web thread books the hall
    result: list[object] = []

    def web() -> None:
        result.append(
            control.add_override("salle", "grande_salle", mode="confort", end=NOW + timedelta(hours=2), user="web")
        )

    thread = threading.Thread(target=web, name="waitress-0")
    thread.start()
    await asyncio.to_thread(thread.join)
    # Then the change was applied and the rules re-evaluated in the loop thread before the call returned
    assert evaluated_in == [threading.current_thread().name]
    assert result[0].label == ""  # type: ignore[attr-defined]
    # And a change from the loop thread itself (MQTT) runs inline
    control.cancel_override(result[0].id, user="mqtt")  # type: ignore[attr-defined]
    assert len(evaluated_in) == 2


def test_engine_memory_round_trips(store):
    assert store.load_memory() is None
    store.save_memory({"zones": {"a/b": {"rates": {"all": 2.5}}}})
    assert store.load_memory() == {"zones": {"a/b": {"rates": {"all": 2.5}}}}


async def test_a_change_the_busy_loop_cannot_take_is_refused_and_not_applied(control, monkeypatch):
    # Given a loop that is stuck (a long evaluation) and a short patience
    monkeypatch.setattr("gateway.control.facade.CHANGE_TIMEOUT_S", 0.1)
    control.attach(asyncio.get_running_loop(), lambda: None)
    outcome: list[BaseException] = []

    def web() -> None:
        try:
            control.add_override("salle", "grande_salle", mode="confort", end=NOW + timedelta(hours=2), user="w")
        except BaseException as exc:  # the test inspects it
            outcome.append(exc)

    thread = threading.Thread(target=web)
    thread.start()
    walltime.sleep(0.3)  # noqa: ASYNC251 - the loop thread is blocked on purpose: the change cannot run
    await asyncio.to_thread(thread.join)
    await asyncio.sleep(0)
    # Then the web thread got a clear error and nothing was applied, even after the loop resumed
    assert isinstance(outcome[0], ControlBusyError)
    assert control.zone("salle", "grande_salle").overrides == ()
    assert control.audit_log() == []


def test_changes_made_elsewhere_are_recorded_in_the_same_audit_log(control, store, tmp_path):
    version = store.version
    control.record_action("maire", "user-add", "agent2", "", "agent")
    (entry,) = control.audit_log()
    assert (entry.time, entry.user, entry.action, entry.subject, entry.old, entry.new) == (
        NOW,
        "maire",
        "user-add",
        "agent2",
        "",
        "agent",
    )
    assert store.version == version  # nothing the rules read changed: no rebuild of the site
    reopened = SettingsStore(tmp_path / "settings.sqlite")
    assert [e.action for e in reopened.audit()] == ["user-add"]
    reopened.close()


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (("maire", "", "x", "", ""), "action"),
        (("maire", "user-add", "a\nb", "", ""), "subject"),
        (("maire", "user-add", "x", "", "y" * 501), "new"),
        ((None, "user-add", "x", "", ""), "user"),
    ],
)
def test_a_bad_audit_row_is_refused(control, args, field):
    with pytest.raises(ValidationError) as err:
        control.record_action(*args)
    assert field in err.value.errors
    assert control.audit_log() == []


def test_counter_rate_over_the_window_restarts_after_a_reset_and_forgets_silent_meters():
    from gateway.control.views import CounterRate

    minute = 60 * 10**9
    rate = CounterRate(window_ns=15 * minute)
    for m in range(31):  # 0.02 m³ a minute for 30 min: 1.2 m³/h
        rate.add("eau", 100.0 + 0.02 * m, m * minute)
    assert rate.rates(30 * minute) == {"eau": pytest.approx(1.2)}
    rate.add("eau", 100.6, 30 * minute)  # a repeated stamp is ignored
    rate.add("eau", 0.5, 31 * minute)  # the meter was replaced: the window restarts
    assert rate.rates(31 * minute) == {}
    rate.add("eau", 0.6, 36 * minute)
    assert rate.rates(36 * minute) == {"eau": pytest.approx(1.2)}
    assert rate.rates(36 * minute + 31 * minute) == {}  # silent for two windows: no flow shown
