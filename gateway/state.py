"""Latest value of every series with its time, and device availability.

"Latest" means the last to arrive: drivers publish live readings as they take them, so arrival
order is measurement order, and it stays right when the wall clock steps backwards.

Written from the event loop, read from any thread (web) through :meth:`StateStore.snapshot`,
which returns an immutable copy: readers never see a half-applied update.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from gateway.model import FieldValue, Reading, Unavailable


@dataclass(frozen=True, slots=True)
class Sample:
    """One field's latest value and when it was measured."""

    value: FieldValue
    time_ns: int
    measurement: str
    tags: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An immutable view of the state at one instant."""

    samples: Mapping[tuple[str, str], Sample]  # (device, field) -> sample
    unavailable: Mapping[str, Unavailable]  # device -> since when / why
    version: int

    def value(self, device: str, field: str) -> Sample | None:
        """The latest sample of ``device``'s ``field``, or ``None``."""
        return self.samples.get((device, field))


class StateStore:
    """Latest value per (device, field); availability per device."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._samples: dict[tuple[str, str], Sample] = {}
        self._unavailable: dict[str, Unavailable] = {}
        self._version = 0

    def update(self, reading: Reading) -> None:
        """Record a reading; a device that reports is available again."""
        device = reading.tag("device") or reading.measurement
        with self._lock:
            for name, value in reading.fields:
                # by arrival, not by time stamp: after a backward clock step the newest reading
                # carries an earlier stamp, and it is still the one that describes the room now
                self._samples[(device, name)] = Sample(value, reading.time_ns, reading.measurement, reading.tags)
            self._unavailable.pop(device, None)
            self._version += 1

    def mark_unavailable(self, status: Unavailable) -> None:
        """Record that a device stopped answering (kept until it reports again)."""
        with self._lock:
            self._unavailable.setdefault(status.device, status)
            self._version += 1

    def snapshot(self) -> Snapshot:
        """A consistent, immutable copy."""
        with self._lock:
            return Snapshot(
                MappingProxyType(dict(self._samples)),
                MappingProxyType(dict(self._unavailable)),
                self._version,
            )
