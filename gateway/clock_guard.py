"""The clock policy of a Pi without RTC: when is ``now`` trusted, and what follows if not.

The wall clock is *trusted* when
- the kernel reports it synchronised (``[service.clock] require_sync``, default on), and
- it is not earlier than the latest trusted time this gateway saw (``LastSeen``, persisted in
  the state directory), beyond ``step_threshold_s``.

While it is not trusted:
- every reading published gets the field ``clock_unsynced = true`` (a field, not a tag, so the
  series stays the same and a later resend overwrites rather than duplicates);
- the control service passes ``clock_trusted=False`` to the rules, whose schedules then run in
  the declared safe modes (``safe_heating``, ``safe_lighting``);
- the admin page shows :meth:`ClockGuard.status` and the log says why, once per change.

A step of the wall clock against the monotonic clock (NTP stepping, ``date -s``) is logged and
raised as an event; it never replays actions (control is level-triggered: the desired state
follows from the new ``now``). Durations (minimum on/off times, stale sensors, maximum run
times) must be measured on the monotonic clock, never on differences of wall times.

If NTP is synchronised but earlier than the last time seen for ``accept_behind_after_s``, the
persisted time is taken to be wrong (a past bad sync) and NTP wins, with a warning.

Rules of this module: no I/O except :class:`gateway.clock.LastSeen`; thread-safe reads of
:attr:`ClockGuard.status` (an immutable value swapped atomically); callers drive :meth:`check`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.clock import Clock, LastSeen, sync_status_of
from gateway.model import MIN_PLAUSIBLE_TIME_NS, Event, Reading
from gateway.schema.service import ClockPolicy

if TYPE_CHECKING:
    from gateway.metrics import Metrics

log = logging.getLogger("gateway.clock")

#: The field added to readings measured while the clock is not trusted.
UNSYNCED_FIELD = "clock_unsynced"

_NS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class ClockStatus:
    """What the admin page, the logs and the control service need to know about time."""

    trusted: bool
    synchronised: bool
    state: str  # "trusted" | "before-2001" | "unsynchronised" | "behind-last-seen"
    reason: str  # why it is not trusted, in words ("" when trusted)
    detail: str  # the sync source's own words
    wall_ns: int
    last_seen_ns: int | None
    last_step_s: float | None  # the latest wall-clock step measured (signed), if any
    safe_heating: str
    safe_lighting: str


class ClockGuard:
    """Decides whether the wall clock is trusted; stamps readings accordingly.

    Example::

        guard = ClockGuard(policy=ClockPolicy(), clock=clock, last_seen=LastSeen(state_dir))
        guard.check()            # at start, then every check_interval_s
        guard.trusted            # -> pass to the rules as clock_trusted
        reading = guard.stamp(reading)
    """

    def __init__(
        self,
        *,
        policy: ClockPolicy,
        clock: Clock,
        last_seen: LastSeen | None,
        metrics: Metrics | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.policy = policy
        self.clock = clock
        self._store = last_seen
        self._metrics = metrics
        self._on_event = on_event
        self._last_seen_ns = last_seen.load() if last_seen else None
        self._offset_ns: int | None = None
        self._last_persist_mono: float | None = None
        self._behind_since_mono: float | None = None
        self._last_step_s: float | None = None
        self._status: ClockStatus | None = None
        self._step_listeners: list[Callable[[float], None]] = []

    @property
    def trusted(self) -> bool:
        """Whether ``now`` may drive schedules (``False`` until the first :meth:`check`)."""
        status = self._status
        return bool(status and status.trusted)

    @property
    def status(self) -> ClockStatus:
        """The latest decision (checks once if never checked)."""
        return self._status or self.check()

    def add_step_listener(self, listener: Callable[[float], None]) -> None:
        """Call ``listener(step_s)`` when the wall clock steps (signed seconds, loop thread).

        For state stamped with wall times (a relay's "on since", an input's last change): the
        listener shifts them by the step, so a minimum on/off time or a maximum run time is
        neither stretched by a backward step nor cut short by a forward one.
        """
        self._step_listeners.append(listener)

    def check(self) -> ClockStatus:
        """Read the clock and its sync status, decide, log and raise events on change."""
        wall = self.clock.time_ns()
        mono = self.clock.monotonic()
        self._observe_step(wall, mono)
        sync = sync_status_of(self.clock)
        synchronised = sync.synchronised or not self.policy.require_sync
        tolerance = int(self.policy.step_threshold_s * _NS)
        behind = self._last_seen_ns is not None and wall < self._last_seen_ns - tolerance
        state, reason = "trusted", ""
        if wall < MIN_PLAUSIBLE_TIME_NS:
            state, reason = "before-2001", "the clock is before 2001 (not set since boot)"
        elif not synchronised:
            state, reason = "unsynchronised", f"the clock is not synchronised yet ({sync.detail})"
        elif behind:
            reason = self._behind_reason(wall, mono)
            state = "behind-last-seen" if reason else "trusted"
        if not behind or not synchronised:
            self._behind_since_mono = None
        trusted = state == "trusted"
        if trusted:
            self._remember(wall, mono)
        status = ClockStatus(
            trusted=trusted,
            synchronised=sync.synchronised,
            state=state,
            reason=reason,
            detail=sync.detail,
            wall_ns=wall,
            last_seen_ns=self._last_seen_ns,
            last_step_s=self._last_step_s,
            safe_heating=self.policy.safe_heating,
            safe_lighting=self.policy.safe_lighting,
        )
        self._announce(self._status, status)
        self._status = status
        if self._metrics is not None:
            self._metrics.set("gateway_clock_trusted", float(trusted))
            self._metrics.set("gateway_clock_synchronised", float(sync.synchronised))
        return status

    def stamp(self, reading: Reading) -> Reading:
        """``reading`` with ``clock_unsynced = true`` if measured on an untrusted clock."""
        late = self._last_seen_ns is not None and reading.time_ns < self._last_seen_ns - int(
            self.policy.step_threshold_s * _NS
        )
        if self.trusted and not late:
            return reading
        if any(name == UNSYNCED_FIELD for name, _ in reading.fields):
            return reading
        return Reading(
            reading.measurement,
            reading.tags,
            tuple(sorted((*reading.fields, (UNSYNCED_FIELD, True)))),
            reading.time_ns,
        )

    def persist(self) -> None:
        """Save the latest trusted time now (at shutdown); errors are logged, never raised."""
        if self._store is None or self._last_seen_ns is None:
            return
        try:
            self._store.save(self._last_seen_ns)
        except OSError as exc:
            log.warning("cannot save the last trusted time to %s: %s", self._store.path, exc)

    # -- internals ---------------------------------------------------------------------------

    def _observe_step(self, wall: int, mono: float) -> None:
        offset = wall - int(mono * _NS)
        previous, self._offset_ns = self._offset_ns, offset
        if previous is None:
            return
        step_s = (offset - previous) / _NS
        if abs(step_s) < self.policy.step_threshold_s:
            return
        self._last_step_s = step_s
        direction = "forward" if step_s > 0 else "backward"
        message = f"the wall clock stepped {direction} by {abs(step_s):.0f} s; control follows the new time"
        if self._metrics is not None:
            self._metrics.inc("gateway_clock_steps_total", direction=direction)
        self._emit("clock_step", message, wall, "warning", step_s=step_s)
        for listener in self._step_listeners:
            try:
                listener(step_s)
            except Exception:  # one bad listener must not stop the clock monitor
                log.exception("clock step listener %r failed", listener)

    def _behind_reason(self, wall: int, mono: float) -> str:
        assert self._last_seen_ns is not None
        behind_s = (self._last_seen_ns - wall) / _NS
        if self._behind_since_mono is None:
            self._behind_since_mono = mono
        waited = mono - self._behind_since_mono
        if waited >= self.policy.accept_behind_after_s:
            log.warning(
                "the synchronised clock has stayed %.0f s behind the last time seen for %.0f s: "
                "taking the saved time to be wrong and trusting NTP",
                behind_s,
                waited,
            )
            self._last_seen_ns = wall
            self._behind_since_mono = None
            return ""
        return f"the clock is {behind_s:.0f} s earlier than the last time this gateway saw"

    def _remember(self, wall: int, mono: float) -> None:
        if self._last_seen_ns is None or wall > self._last_seen_ns:
            self._last_seen_ns = wall
        due = (
            self._last_persist_mono is None
            or mono - self._last_persist_mono >= self.policy.persist_interval_s
        )
        if due:
            self._last_persist_mono = mono
            self.persist()

    def _why_trusted(self, status: ClockStatus) -> str:
        """Why a trusted clock is trusted, in words that never contradict the verdict."""
        if status.synchronised:
            return f"synchronised: {status.detail}"
        return f"[service.clock] require_sync = false, so trusted although not synchronised: {status.detail}"

    def _announce(self, old: ClockStatus | None, new: ClockStatus) -> None:
        if old is not None and old.state == new.state:
            return
        if new.trusted:
            if old is None:
                log.info("clock trusted (%s)", self._why_trusted(new))
            else:
                message = f"the clock is trusted again ({self._why_trusted(new)}); schedules resume"
                self._emit("clock_trusted", message, new.wall_ns, "info")
            return
        message = (
            f"{new.reason}: readings are flagged {UNSYNCED_FIELD}, schedules run in safe mode "
            f"(heating {new.safe_heating}, lighting {new.safe_lighting})"
        )
        self._emit("clock_untrusted", message, new.wall_ns, "warning")

    def _emit(self, kind: str, message: str, wall: int, severity: Any, **data: float) -> None:
        """Raise an event (the core logs it: one line); without a core, log it ourselves."""
        if self._on_event is None:
            log.log(logging.INFO if severity == "info" else logging.WARNING, "%s", message)
            return
        self._on_event(Event(kind, "clock", message, wall, severity, tuple(sorted(data.items()))))


class StampingRecorder:
    """Wraps the journal so every appended reading goes through :meth:`ClockGuard.stamp`.

    Everything else (``fetch``, ``advance``, ``stats``, ...) is the wrapped journal's.
    """

    def __init__(self, inner: Any, guard: ClockGuard) -> None:
        self._inner = inner
        self._guard = guard

    def append(self, reading: Reading) -> None:
        self._inner.append(self._guard.stamp(reading))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def guard_for(config: Any, core: Any) -> ClockGuard:
    """The daemon's one :class:`ClockGuard` (the daemon builds it once and hands it to control and
    system); the journal of ``core`` is wrapped once so readings are stamped."""
    guard = ClockGuard(
        policy=config.service.clock,
        clock=core.clock,
        last_seen=LastSeen(config.service.state_dir),
        metrics=core.metrics,
        on_event=core.raise_event,
    )
    if not isinstance(core.journal, StampingRecorder):
        core.journal = StampingRecorder(core.journal, guard)
    return guard
