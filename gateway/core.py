"""The hub every service shares: publish readings and events, read the state.

Rules of this module:
- :meth:`Core.publish` and :meth:`Core.raise_event` are called from the event loop thread
  only (threads bridge in with ``loop.call_soon_threadsafe``); they never block on I/O:
  the journal's ``append`` is an in-memory hand-off to its group commit.
- listeners (the rules' "on relevant change" trigger, MQTT) are plain callables, called
  synchronously; they must only schedule work, never do it.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable
from typing import Protocol

from gateway.clock import Clock
from gateway.config import GatewayConfig
from gateway.metrics import Metrics
from gateway.model import Event, Reading, Unavailable
from gateway.state import StateStore

log = logging.getLogger("gateway.core")


class Recorder(Protocol):
    """Where readings go first: the durable journal."""

    def append(self, reading: Reading) -> None: ...


class Core:
    """Readings in, state and journal out; events kept for the admin page and MQTT."""

    def __init__(
        self,
        *,
        config: GatewayConfig,
        clock: Clock,
        journal: Recorder,
        metrics: Metrics | None = None,
        state: StateStore | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.journal = journal
        self.metrics = metrics or Metrics()
        self.state = state or StateStore()
        self.recent_events: collections.deque[Event] = collections.deque(maxlen=500)
        self._reading_listeners: list[Callable[[Reading], None]] = []
        self._event_listeners: list[Callable[[Event], None]] = []

    def tags(self, *, device: str, building: str | None = None, zone: str | None = None) -> dict[str, str]:
        """The standard tag set of a point: site, building, zone, device."""
        tags = {"site": self.config.site.id, "device": device}
        if building:
            tags["building"] = building
        if zone:
            tags["zone"] = zone
        return tags

    def on_reading(self, listener: Callable[[Reading], None]) -> None:
        """Call ``listener`` with every published reading."""
        self._reading_listeners.append(listener)

    def on_event(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener`` with every raised event."""
        self._event_listeners.append(listener)

    def publish(self, reading: Reading) -> None:
        """Record a measurement: state first (for control), then the journal (for sinks)."""
        self.state.update(reading)
        self.journal.append(reading)
        self.metrics.inc("gateway_points_total", measurement=reading.measurement)
        for listener in self._reading_listeners:
            try:
                listener(reading)
            except Exception:
                log.exception("reading listener %r failed", listener)

    def unavailable(self, status: Unavailable) -> None:
        """Record that a device stopped answering."""
        self.state.mark_unavailable(status)

    def raise_event(self, event: Event) -> None:
        """Journal an event (measurement ``event``) and tell listeners."""
        self.recent_events.append(event)
        self.metrics.inc("gateway_events_total", kind=event.kind, severity=event.severity)
        try:
            point = Reading.make(
                "event",
                {"site": self.config.site.id, "kind": event.kind, "subject": event.subject},
                {"message": event.message, "severity": event.severity, **dict(event.data)},
                time_ns=event.time_ns,
            )
        except ValueError:
            log.warning("event %s could not be journaled (clock not set?)", event.kind)
        else:
            self.journal.append(point)
        level = {"info": logging.INFO, "warning": logging.WARNING, "alarm": logging.ERROR}[event.severity]
        log.log(level, "event %s %s: %s", event.kind, event.subject, event.message)
        for listener in self._event_listeners:
            try:
                listener(event)
            except Exception:
                log.exception("event listener %r failed", listener)
