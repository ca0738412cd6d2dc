"""Time on a Pi without RTC: whether ``now`` may drive schedules, and wall-clock steps seen at once.

Rules of this module:
- every evaluation passes ``clock_trusted`` from the daemon's one
  :class:`gateway.clock_guard.ClockGuard` (no guard: trusted); the rules run in safe modes while
  it is not;
- a wall-clock step since the last evaluation (wall minus monotonic time moved by the guard's
  step threshold) makes the guard check at once, so its step listeners shift every wall-time
  stamp the shell holds *before* the evaluation rather than at the guard's next periodic check;
- a stamp that predates the step is recognised by moving closer to the new ``now`` when shifted
  (:func:`closer`); the scheduled times (bookings, schedules) are wall time themselves and never move.
"""

from __future__ import annotations

from gateway.clock import Clock
from gateway.clock_guard import ClockGuard


def closer(stamp_ns: int, step_ns: int, now_ns: int) -> int:
    """``stamp_ns`` shifted by ``step_ns`` if that brings it closer to ``now`` (it predates the step)."""
    moved = stamp_ns + step_ns
    return moved if abs(now_ns - moved) < abs(now_ns - stamp_ns) else stamp_ns


class StepWatch:
    """Watches wall minus monotonic time between evaluations; asks the guard whether ``now`` is trusted."""

    def __init__(self, clock: Clock, guard: ClockGuard | None) -> None:
        self.clock = clock
        self.guard = guard
        self._offset_ns: int | None = None  # wall - monotonic at the last look

    def trusted(self) -> bool:
        """The guard's verdict, after looking for a step (no guard: trusted)."""
        if self.guard is None:
            return True
        self.watch()
        return self.guard.status.trusted

    def watch(self) -> None:
        """A step since the last look: the guard checks now (and calls its step listeners)."""
        if self.guard is None:
            return
        offset = self.clock.time_ns() - int(self.clock.monotonic() * 1e9)
        previous, self._offset_ns = self._offset_ns, offset
        threshold = int(self.guard.policy.step_threshold_s * 1e9)
        if previous is not None and abs(offset - previous) >= threshold:
            self.guard.check()  # observes the step and calls the step listeners

    def stepped(self) -> int:
        """A step was observed: the offset is the new one; now in wall-clock ns."""
        now_ns = self.clock.time_ns()
        self._offset_ns = now_ns - int(self.clock.monotonic() * 1e9)
        return now_ns
