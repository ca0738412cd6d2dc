"""Counters and gauges for ``/metrics``, health and the admin page's Système section.

Thread-safe (the web thread reads while the loop writes); no global registry: the
daemon owns one :class:`Metrics` and passes it in.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping

Labels = tuple[tuple[str, str], ...]


class Metrics:
    """A small registry of named counters and gauges with labels."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[tuple[str, Labels], float] = {}
        self._kinds: dict[str, str] = {}
        self._help: dict[str, str] = {}

    def describe(self, name: str, kind: str, help_text: str) -> None:
        """Declare a metric's kind (``counter`` or ``gauge``) and help text."""
        with self._lock:
            self._kinds[name] = kind
            self._help[name] = help_text

    def describe_all(self, table: Mapping[str, tuple[str, str]]) -> None:
        """Declare every metric of a module's table: ``name -> (kind, help text)``."""
        for name, (kind, help_text) in table.items():
            self.describe(name, kind, help_text)

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add to a counter."""
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._kinds.setdefault(name, "counter")
            self._values[key] = self._values.get(key, 0.0) + amount

    def set(self, name: str, value: float, **labels: str) -> None:
        """Set a gauge."""
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._kinds.setdefault(name, "gauge")
            self._values[key] = value

    def get(self, name: str, **labels: str) -> float:
        """Current value (0 when never set)."""
        with self._lock:
            return self._values.get((name, tuple(sorted(labels.items()))), 0.0)

    def items(self) -> Iterator[tuple[str, str, str, Labels, float]]:
        """``(name, kind, help, labels, value)`` for every series, sorted."""
        with self._lock:
            snapshot = sorted(self._values.items())
            kinds = dict(self._kinds)
            helps = dict(self._help)
        for (name, labels), value in snapshot:
            yield name, kinds.get(name, "gauge"), helps.get(name, ""), labels, value
