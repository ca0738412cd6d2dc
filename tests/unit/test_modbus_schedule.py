"""Scheduling a bus: grid slots, no bursts, healthy devices first, a suspect device's budget."""

from __future__ import annotations

import math

import pytest

from drivers.modbus_schedule import Slot, budget_deadline, next_slot, pick, too_soon


@pytest.mark.parametrize(
    ("due", "wait", "now", "expected"),
    [
        (10.0, 1, 10.05, 11.0),  # on time: the next slot
        (10.0, 1, 11.3, 12.0),  # the bus was busy past slot 11: skipped, never made up
        (10.0, 4, 10.05, 14.0),  # backoff: four intervals on
        (10.0, 1024, 10.05, 40.0),  # capped at max_backoff_s (30 s)
    ],
)
def test_the_next_slot_is_on_the_grid_and_in_the_future(due, wait, now, expected):
    assert next_slot(due=due, interval=1.0, wait_intervals=wait, max_backoff_s=30.0, now=now) == expected


def test_a_slot_too_soon_after_the_last_reading_is_skipped():
    assert too_soon(last_reading_at=10.9, interval=1.0, now=11.0)  # the previous round ran late
    assert not too_soon(last_reading_at=10.4, interval=1.0, now=11.0)
    assert not too_soon(last_reading_at=None, interval=1.0, now=11.0)


def test_healthy_devices_go_first_and_suspect_ones_at_the_end_of_the_round():
    slots = [Slot(0, 5.0, 1.0, False), Slot(1, 5.0, 1.0, True), Slot(2, 5.0, 1.0, False)]
    assert pick(slots, 5.0).index == 0
    assert pick(slots[1:], 5.0).index == 2
    assert pick(slots[1:2], 5.0).index == 1
    assert pick(slots, 4.9) is None


def test_a_suspect_device_waiting_a_whole_interval_is_not_starved():
    slots = [Slot(0, 5.0, 1.0, True), Slot(1, 5.9, 1.0, False)]
    assert pick(slots, 6.0).index == 0


def test_a_suspect_device_shares_the_time_left_before_the_next_healthy_slot():
    healthy = Slot(0, 6.0, 1.0, False)  # already polled this round; next slot at 6.0
    late, flaky = Slot(1, 5.0, 1.0, True), Slot(2, 5.0, 1.0, True)
    deadline = budget_deadline(late, [healthy, late, flaky], 5.02, timeout_s=1.0, guard_s=0.05)
    assert deadline == pytest.approx(5.02 + (6.0 - 5.02 - 0.05) / 2)
    # once the first has had its turn (its next slot is later), the last one gets what is left
    polled = Slot(1, 7.0, 1.0, True)
    deadline = budget_deadline(flaky, [healthy, polled, flaky], 5.5, timeout_s=1.0, guard_s=0.05)
    assert deadline == pytest.approx(5.95)


def test_a_suspect_device_gets_at_least_its_fair_share_and_at_most_the_timeout():
    slots = [Slot(i, 5.0 + (i == 0), 1.0, i == 3) for i in range(4)]
    assert budget_deadline(slots[3], slots, 5.98, timeout_s=1.0, guard_s=0.05) == pytest.approx(5.98 + 0.25)
    alone = [Slot(0, 5.0, 1.0, True)]
    assert budget_deadline(alone[0], alone, 5.0, timeout_s=0.7, guard_s=0.05) == pytest.approx(5.7)


def test_a_healthy_device_has_the_whole_timeout():
    slot = Slot(0, 5.0, 1.0, False)
    assert budget_deadline(slot, [slot], 5.0, timeout_s=1.0, guard_s=0.05) is None
    assert math.isfinite(budget_deadline(Slot(1, 5.0, 1.0, True), [slot, Slot(1, 5.0, 1.0, True)], 5.0,
                                         timeout_s=1.0, guard_s=0.05))  # fmt: skip
