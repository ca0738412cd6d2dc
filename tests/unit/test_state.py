"""The state keeps the latest reading of each field by arrival, with snapshots that never change."""

from __future__ import annotations

from gateway.model import Reading, Unavailable
from gateway.state import StateStore

T = 1_764_000_000_000_000_000


def reading(value: float, time_ns: int, device: str = "salle-t1") -> Reading:
    return Reading.make("climate", {"device": device}, {"temperature_c": value}, time_ns=time_ns)


def test_latest_by_arrival_even_after_a_backward_clock_step() -> None:
    store = StateStore()
    store.update(reading(18.0, T))
    store.update(reading(18.5, T - 3600 * 10**9))  # the clock was stepped back one hour
    sample = store.snapshot().value("salle-t1", "temperature_c")
    assert sample is not None
    assert (sample.value, sample.time_ns) == (18.5, T - 3600 * 10**9)


def test_snapshots_are_immutable_copies() -> None:
    store = StateStore()
    store.update(reading(18.0, T))
    before = store.snapshot()
    store.update(reading(19.0, T + 1))
    assert before.value("salle-t1", "temperature_c").value == 18.0  # type: ignore[union-attr]
    assert store.snapshot().value("salle-t1", "temperature_c").value == 19.0  # type: ignore[union-attr]
    assert store.snapshot().version == before.version + 1


def test_a_device_is_unavailable_until_it_reports_again() -> None:
    store = StateStore()
    store.mark_unavailable(Unavailable("salle-t1", T, "timeout"))
    store.mark_unavailable(Unavailable("salle-t1", T + 10, "timeout again"))
    assert store.snapshot().unavailable["salle-t1"].since_ns == T  # since the first failure
    store.update(reading(18.0, T + 20))
    assert "salle-t1" not in store.snapshot().unavailable
