"""The shared vocabulary validates itself: a Reading that exists is writable."""

from __future__ import annotations

import math

import pytest

from gateway.model import Command, Event, ModelError, Reading

T = 1_764_000_000_000_000_000


def test_make_sorts_and_drops_missing_values() -> None:
    r = Reading.make(
        "meter",
        {"site": "s", "device": "d", "zone": None},
        {"power_w": 1.5, "energy_import_kwh": None, "a_v": 2},
        time_ns=T,
    )
    assert r.tags == (("device", "d"), ("site", "s"))
    assert r.fields == (("a_v", 2), ("power_w", 1.5))
    assert r.tag("device") == "d"
    assert r.tag("zone") is None
    assert r.series == ("meter", (("device", "d"), ("site", "s")))


def test_equal_regardless_of_build_order() -> None:
    a = Reading.make("meter", {"a": "1", "b": "2"}, {"x": 1.0, "y": 2.0}, time_ns=T)
    b = Reading.make("meter", {"b": "2", "a": "1"}, {"y": 2.0, "x": 1.0}, time_ns=T)
    assert a == b
    assert hash(a) == hash(b)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_float_rejected(value: float) -> None:
    with pytest.raises(ModelError, match="finite"):
        Reading.make("meter", {"device": "d"}, {"power_w": value}, time_ns=T)


@pytest.mark.parametrize(
    ("measurement", "tags", "fields", "time_ns", "match"),
    [
        ("Meter", {}, {"x": 1}, T, "measurement"),
        ("meter", {"bad tag": "v"}, {"x": 1}, T, "tag"),
        ("meter", {"site\n": "v"}, {"x": 1}, T, "tag"),  # `$` alone lets a trailing newline through
        ("meter", {}, {"energy\n": 1}, T, "field"),
        ("meter", {"t": "a\nb"}, {"x": 1}, T, "single-line"),
        ("meter", {}, {}, T, "at least one field"),
        ("meter", {}, {"x": 1}, 0, "implausible"),
        ("meter", {}, {"x": 1}, 86_400 * 10**9, "clock not set"),
    ],
)
def test_invalid_readings_say_why(
    measurement: str, tags: dict[str, str], fields: dict[str, float], time_ns: int, match: str
) -> None:
    with pytest.raises(ModelError, match=match):
        Reading.make(measurement, tags, fields, time_ns=time_ns)


def test_command_and_event_validate() -> None:
    assert Command("relay-1", on=True, reason="confort").on
    with pytest.raises(ModelError):
        Command("", on=False, reason="x")
    with pytest.raises(ModelError):
        Event(kind="Leak!", subject="ecole", message="m", time_ns=T)
    assert (
        Event(kind="leak", subject="ecole", message="fuite", time_ns=T, severity="alarm").severity == "alarm"
    )
