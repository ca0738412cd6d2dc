"""Water leaks: hourly use, night windows, consecutive nights, the 24-hour test, acknowledgement."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from rules.config import LeakMeter, Window
from rules.leak import LeakCheck, hour_start, update
from rules.types import LeakMemory, SensorValue
from tests.unit.rules_village import MIN, PARIS, at, ns

NIGHT = Window(start="01:00", end="05:00")


def run(
    meter: LeakMeter, days: int, litres_per_hour: Callable[[int, int], float], *, start_day: int = 12
) -> list[LeakCheck]:
    """Feed a reading every 15 minutes; ``litres_per_hour(day_index, local_hour)`` is the use."""
    mem, counter, checks = LeakMemory(), 100.0, []
    t0 = ns(at(2026, 1, start_day))
    for quarter in range(days * 24 * 4):
        now = t0 + quarter * 15 * MIN
        if quarter:  # the use of the quarter of an hour that ends with this reading
            day, hour = divmod((quarter - 1) // 4, 24)
            counter += litres_per_hour(day, hour) / 4 / 1000
        check = update(meter, mem, SensorValue(counter, now), tz=PARIS, night=NIGHT, ack_ns=None, now_ns=now)
        mem = check.memory
        checks.append(check)
    return checks


def test_a_trickle_at_night_alarms_after_the_configured_nights() -> None:
    meter = LeakMeter(nights=2, check_24h=False)
    checks = run(meter, 4, lambda day, hour: 2.0 if 0 <= hour < 7 else 50.0)
    first_alarm = next(i for i, c in enumerate(checks) if c.alarm)
    # nights are judged when the first hour after the window is recorded (05:00 hour ends at 06:00);
    # night of day 0 and night of day 1 -> alarm on day 1 at 06:00
    assert divmod(first_alarm // 4, 24) == (1, 6)
    alarm = checks[first_alarm]
    assert (alarm.kind, alarm.min_lph, alarm.nights, alarm.hours) == ("night", 2.0, 2, 8)


def test_a_night_that_reaches_zero_resets_the_count() -> None:
    meter = LeakMeter(nights=2, check_24h=False)

    def use(day: int, hour: int) -> float:
        if 1 <= hour < 5:
            return 0.0 if day == 1 else 3.0  # the second night is dry
        return 40.0

    checks = run(meter, 3, use)
    assert not any(c.alarm for c in checks[: 2 * 24 * 4 + 6 * 4])
    assert checks[-1].nights == 1  # third night counted again


def test_no_zero_hour_in_24_hours_is_a_continuous_leak() -> None:
    checks = run(LeakMeter(nights=7), 2, lambda day, hour: 1.0 + hour)
    alarm = next(c for c in checks if c.alarm)
    assert (alarm.kind, alarm.hours) == ("continuous", 24)
    assert alarm.min_lph == 1.0
    normal = run(LeakMeter(nights=7), 2, lambda day, hour: 0.0 if hour == 3 else 20.0)
    assert not any(c.alarm for c in normal)


def test_an_acknowledged_alarm_clears_and_counting_restarts() -> None:
    meter = LeakMeter(nights=1, check_24h=False)
    checks = run(meter, 2, lambda day, hour: 5.0)
    latched = checks[-1].memory
    assert latched.alarm_since_ns is not None
    now = latched.alarm_since_ns + 60 * MIN
    after = update(meter, latched, None, tz=PARIS, night=NIGHT, ack_ns=now, now_ns=now)
    assert not after.alarm
    assert after.memory.nights == 0
    assert after.memory.hours == ()


def test_gaps_and_counter_resets_are_handled() -> None:
    meter = LeakMeter()
    t = ns(at(2026, 1, 12, 10, 5))
    mem = update(meter, LeakMemory(), SensorValue(10.0, t), tz=PARIS, night=NIGHT, ack_ns=None, now_ns=t).memory
    assert mem.partial  # the first hour started before the first reading: not measured
    t2 = t + 60 * MIN
    mem = update(meter, mem, SensorValue(10.1, t2), tz=PARIS, night=NIGHT, ack_ns=None, now_ns=t2).memory
    assert mem.hours == ()  # partial hour discarded
    t3 = t2 + 3 * 60 * MIN  # three hours without readings: 30 l spread over them
    mem = update(meter, mem, SensorValue(10.13, t3), tz=PARIS, night=NIGHT, ack_ns=None, now_ns=t3).memory
    assert [round(litres, 3) for _, litres in mem.hours] == [10.0, 10.0, 10.0]
    t4 = t3 + 60 * MIN  # the meter was replaced: the counter went back
    mem = update(meter, mem, SensorValue(0.5, t4), tz=PARIS, night=NIGHT, ack_ns=None, now_ns=t4).memory
    assert mem.hours == ()


def test_local_hours_across_the_autumn_change() -> None:
    # 25 October 2026: 02:00-03:00 happens twice; each local hour starts one real hour after the previous one
    starts = {hour_start(ns(at(2026, 10, 25)) + q * 15 * MIN, PARIS) for q in range(4 * 6)}
    ordered = sorted(starts)
    assert len(ordered) == 6  # 00, 01, 02 (CEST), 02 (CET), 03, 04
    assert all(b - a == 60 * MIN for a, b in itertools.pairwise(ordered))
