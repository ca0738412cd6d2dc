"""A computed view served stale while it is recomputed in the background; a failure keeps the old one."""

from __future__ import annotations

import threading
import time

from gateway.report.refresh import Refreshing


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_first_value_in_the_caller_then_stale_values_while_refreshing_and_failures_kept():
    mono = Clock()
    calls: list[int] = []
    gate = threading.Event()
    gate.set()
    fail = [False]

    def compute() -> int:
        gate.wait(10)
        if fail[0]:
            raise RuntimeError("archive locked")
        calls.append(len(calls) + 1)
        return calls[-1]

    value = Refreshing(compute, ttl_s=60, name="test", monotonic=mono)
    assert value.get() == 1
    assert value.get() == 1
    assert calls == [1]
    mono.t = 61
    gate.clear()  # the next computation is slow
    assert value.get() == 1  # served at once, stale
    assert value.get() == 1  # a second visitor does not start a second computation
    gate.set()
    assert wait_for(lambda: value.get() == 2)
    assert calls == [1, 2]
    mono.t = 200
    fail[0] = True
    assert value.get() == 2
    time.sleep(0.1)
    assert value.get() == 2  # the failed refresh kept the old value; the next stale read tries again
    fail[0] = False
    assert wait_for(lambda: value.get() == 3)


def test_warm_computes_ahead_of_the_first_visitor():
    value = Refreshing(lambda: "ready", ttl_s=60, name="test")
    value.warm()
    assert wait_for(lambda: value._fresh() == "ready")
    assert value.get() == "ready"
