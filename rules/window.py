"""Open-window detection: a window contact, or the zone's temperature falling fast.

Rules of this module: pure functions over a short history of the zone's mean temperature that the
engine keeps in memory. A drop faster than ``drop_c_per_min`` (default 0.05 °C/min, a common
open-source thermostat default) measured over ``over_min`` minutes, or an active contact, means a
window is open: heating stops for at most ``off_min`` minutes, then resumes even if the window
stays open (a window left open all night must not let the building freeze).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rules.config import WindowDetection
from rules.types import InputState

NS = 1_000_000_000
MINUTE_NS = 60 * NS
#: history kept for the window slope and the church's slow warm-up limit
HISTORY_MIN = 20
HISTORY_MAX_SAMPLES = 64

History = tuple[tuple[int, float], ...]


def remember(history: History, time_ns: int, value: float) -> History:
    """Add a sample (if newer than the last) and forget what is older than needed."""
    if history and time_ns <= history[-1][0]:
        return history
    samples = [*history, (time_ns, value)]
    horizon = time_ns - HISTORY_MIN * MINUTE_NS
    older = [s for s in samples if s[0] < horizon]
    kept = ([older[-1]] if older else []) + [s for s in samples if s[0] >= horizon]
    return tuple(kept[-HISTORY_MAX_SAMPLES:])


def slope_c_per_min(history: History, over_min: float) -> float | None:
    """The temperature change per minute between the newest sample and one ``over_min`` earlier."""
    if len(history) < 2:
        return None
    t1, v1 = history[-1]
    earlier = [s for s in history if s[0] <= t1 - int(over_min * MINUTE_NS)]
    if not earlier:
        return None
    t0, v0 = earlier[-1]
    if t1 - t0 > 2 * over_min * MINUTE_NS:
        return None  # a hole in the readings: no slope
    return (v1 - v0) / ((t1 - t0) / MINUTE_NS)


@dataclass(frozen=True, slots=True)
class WindowState:
    """Whether heating is cut for an open window, since when, until when and why."""

    open: bool
    since_ns: int | None
    until_ns: int | None
    contact: str | None = None
    slope: float | None = None


def detect(
    cfg: WindowDetection,
    history: History,
    inputs: Mapping[str, InputState],
    open_since_ns: int | None,
    now_ns: int,
) -> WindowState:
    """The window state at ``now_ns`` (``open_since_ns`` is the remembered start of a drop)."""
    if not cfg.enabled:
        return WindowState(False, None, None)
    off_ns = int(cfg.off_min * MINUTE_NS)
    for contact in cfg.contacts:
        state = inputs.get(contact)
        if state is not None and state.active and now_ns < state.since_ns + off_ns:
            return WindowState(True, state.since_ns, state.since_ns + off_ns, contact=contact)
    if open_since_ns is not None and now_ns < open_since_ns + off_ns:
        return WindowState(True, open_since_ns, open_since_ns + off_ns)
    slope = slope_c_per_min(history, cfg.over_min)
    fresh = bool(history) and now_ns - history[-1][0] <= 2 * cfg.over_min * MINUTE_NS
    if fresh and slope is not None and slope <= -cfg.drop_c_per_min:
        return WindowState(True, now_ns, now_ns + off_ns, slope=slope)
    return WindowState(False, None, None)
