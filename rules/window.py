"""Open-window detection: a window contact, or the zone's temperature falling fast.

Rules of this module: pure functions over a short history of the zone's mean temperature that the
engine keeps in memory. A drop faster than ``drop_c_per_min`` (default 0.05 °C/min, a common
open-source thermostat default), as the least-squares slope over ``over_min`` minutes, or an active
contact means a window is open: heating stops for at most ``off_min`` minutes, then resumes even if the window
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
    """The least-squares slope (°C/min) of the samples of the last ``over_min`` minutes.

    A regression rather than two points: sensor noise (±0.05 °C) over a few minutes would otherwise
    look like a window opening. ``None`` when the samples span less than 80 % of ``over_min``.
    """
    if len(history) < 3:
        return None
    t_last = history[-1][0]
    span_ns = int(over_min * MINUTE_NS)
    samples = [(t, v) for t, v in history if t >= t_last - span_ns]
    if len(samples) < 3 or samples[-1][0] - samples[0][0] < 0.8 * span_ns:
        return None
    xs = [(t - t_last) / MINUTE_NS for t, _ in samples]
    ys = [v for _, v in samples]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx <= 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx


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
