"""A device's health as a truth table: outcomes in, what to say and how long to wait out."""

from __future__ import annotations

import pytest

from drivers.modbus_health import HOLD_OFF_POLLS, MAX_HOLD_OFF_POLLS, Health

OK, FAIL = True, False


def run(outcomes):
    health = Health()
    changes = [health.record(ok) for ok in outcomes]
    return health, [c for c in changes if c]


def test_a_healthy_device_says_nothing_and_polls_every_interval():
    health, changes = run([OK] * 20)
    assert (changes, health.suspect, health.wait_intervals()) == ([], False, 1)


def test_a_dead_device_is_down_once_and_backs_off_exponentially():
    health = Health()
    assert health.record(FAIL) == "down"
    waits = [health.wait_intervals()]
    for _ in range(4):
        assert health.record(FAIL) is None
        waits.append(health.wait_intervals())
    assert waits == [2, 4, 8, 16, 32]


def test_a_device_back_from_an_outage_polls_at_once_and_recovers_after_the_hold_off():
    health, _ = run([OK, FAIL, FAIL, FAIL])
    assert health.record(OK) is None
    assert health.wait_intervals() == 1  # back at its cadence at once: it is not flapping
    assert health.suspect  # but still polled at the end of its round, within its budget
    changes = [health.record(OK) for _ in range(HOLD_OFF_POLLS - 1)]
    assert changes[-1] == "recovered"
    assert changes[:-1] == [None] * (HOLD_OFF_POLLS - 2)
    assert (health.episode_failures, health.episode_flaps) == (3, 0)


def test_a_device_failing_one_poll_in_three_is_down_once_then_flaps_quietly_and_is_backed_off():
    health, changes = run([OK, OK, FAIL] * 10)
    assert changes == ["down"] + ["flap"] * 9  # one log line; the flaps are counted
    assert health.flapping
    health.record(OK)
    assert health.wait_intervals() == 2  # backed off even when it answers 2 polls out of 3
    assert health.suspect


def test_a_single_glitch_is_not_flapping():
    health, changes = run([OK] * 5 + [FAIL] + [OK] * 3)
    assert changes == ["down"]
    assert not health.flapping
    assert health.wait_intervals() == 1


@pytest.mark.parametrize("answers_between_failures", [1, 2, 4])
def test_a_flapping_device_never_logs_again_until_it_recovers(answers_between_failures):
    _, changes = run(([FAIL] + [OK] * answers_between_failures) * 6 + [OK] * MAX_HOLD_OFF_POLLS)
    assert changes.count("down") == 1
    assert changes.count("recovered") == 1
    assert changes[-1] == "recovered"


def test_the_more_a_device_flapped_the_longer_it_must_answer_before_it_is_trusted_again():
    health, _ = run([FAIL, OK, FAIL])  # down, then one flap
    assert health.hold_off_polls == 2 * HOLD_OFF_POLLS
    changes = [health.record(OK) for _ in range(2 * HOLD_OFF_POLLS)]
    assert changes.index("recovered") == 2 * HOLD_OFF_POLLS - 1
    health, _ = run([FAIL, OK] * 10)  # a device failing one poll in two
    assert health.hold_off_polls == MAX_HOLD_OFF_POLLS
    # one in three keeps failing long before 80 answers in a row: it stays suspect, quietly
    health, changes = run([OK, OK, FAIL] * 200)
    assert changes == ["down"] + ["flap"] * 199
    assert health.suspect
