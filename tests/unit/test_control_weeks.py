"""Week editing in the façade: the same edits for the admin page and MQTT, each all or nothing."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from gateway.config import parse_config
from gateway.control import weeks
from gateway.control.facade import Control
from gateway.control.settings_store import SettingsStore
from gateway.control.values import SchedulePeriod, ValidationError
from tests.support.village import hall, site

RELAY = """
[gpio.relays.salle-chauffage]
pin = 17
"""
MONDAY_MORNING = SchedulePeriod(0, time(8), time(12))
MONDAY_AFTERNOON = SchedulePeriod(0, time(14), time(18))
TUESDAY = SchedulePeriod(1, time(9), time(17))


@pytest.fixture
def control(tmp_path: Path):
    store = SettingsStore(tmp_path / "settings.sqlite")
    yield Control(
        config=parse_config(site("t", "Test") + hall() + RELAY),
        store=store,
        now=lambda: datetime(2026, 11, 27, tzinfo=UTC),
    )
    store.close()


@pytest.mark.parametrize(
    ("index", "expected"),
    [(None, (MONDAY_MORNING, TUESDAY, MONDAY_AFTERNOON)), (1, (MONDAY_MORNING, MONDAY_AFTERNOON))],
)
def test_a_period_is_added_or_replaced(index, expected):
    assert weeks.with_period((MONDAY_MORNING, TUESDAY), index, MONDAY_AFTERNOON) == expected


def test_an_index_the_week_does_not_have_is_refused():
    with pytest.raises(LookupError):
        weeks.with_period((MONDAY_MORNING,), 3, TUESDAY)
    with pytest.raises(LookupError):
        weeks.without_period((MONDAY_MORNING,), -1)


def test_copying_a_day_replaces_the_target_days():
    week = (MONDAY_MORNING, MONDAY_AFTERNOON, TUESDAY)
    copied = weeks.with_day_copied(week, 0, [1])
    assert copied == (
        MONDAY_MORNING,
        MONDAY_AFTERNOON,
        SchedulePeriod(1, time(8), time(12)),
        SchedulePeriod(1, time(14), time(18)),
    )


def test_the_facade_edits_the_week_it_shows(control):
    # Given the configured week, When a period is added, then Monday is copied to Tuesday
    before = control.zone("salle", "grande_salle").week
    control.save_period("salle", "grande_salle", None, MONDAY_MORNING, user="secretaire")
    control.copy_day("salle", "grande_salle", 0, [1], user="secretaire")
    detail = control.zone("salle", "grande_salle")
    # Then the edited week is kept and audited, every edit once
    assert not detail.week_is_default
    assert MONDAY_MORNING in detail.week
    assert SchedulePeriod(1, time(8), time(12)) in detail.week
    assert len(detail.week) >= len(before)
    assert [e.action for e in control.audit_log()][:2] == ["set_week_schedule", "set_week_schedule"]


def test_an_invalid_edit_changes_nothing(control):
    control.save_period("salle", "grande_salle", None, MONDAY_MORNING, user="secretaire")
    week = control.zone("salle", "grande_salle").week
    with pytest.raises(ValidationError):
        control.save_period("salle", "grande_salle", 0, SchedulePeriod(0, time(12), time(8)), user="secretaire")
    with pytest.raises(LookupError):
        control.remove_period("salle", "grande_salle", 99, user="secretaire")
    assert control.zone("salle", "grande_salle").week == week
