"""Open-window detection: a window contact, or the air falling below what the zone's model predicts.

Rules of this module: pure functions over the zone's recent trace and the model; the engine keeps
the trace and the detector's statistics in memory.

Why not a plain slope threshold: with a real air node (tens of minutes of time constant) the air
falls by 0.05–0.1 °C/min every time the thermostat stops the heater, so "a drop faster than
0.05 °C/min" fires at every cycle and misses windows opened while the heater runs. Instead:

- the trace keeps, per tick, the measured air, the heater's power fraction over the interval and the
  structure's estimate (rules.zone_model's observer);
- every tick, the model predicts the air from ``over_min`` minutes ago to now with the heater as it
  actually was; an open window is the one thing that makes the air fall *below* that prediction by
  more than ``drop_c_per_min × over_min`` beyond the residual's usual level — and more than
  :data:`NOISE_MULT` times its usual spread, both learned while no window is open (a model that is
  a little off is thus not a window);
- the air's own capacity, the least visible figure in hourly data and the one these predictions
  hang on, is learned from the trace (the air's minute-to-minute change against the model's drive);
  while the heater ran most of the span (a warm-up, when that capacity matters most) the prediction
  is also made with half and twice it, and the air must be below all three (a warm-up slower than the
  model thought is not a window);
- when the heater ran at full power through the whole span, the air must also have fallen (by half
  the threshold): a heater that runs and a room that does not warm is more likely a heater fault
  than a window;
- right after an occupancy starts or ends (people and their ventilation come and go) the detector
  waits :data:`QUIET_MIN`;
- it judges only a zone held at its target (the air within :data:`HELD_BAND_C` of it for the whole
  span and :data:`HELD_EXTRA_MIN` before): a warm-up from a setback, where the heaters' own thermal
  lag and the structure's estimate matter most, is not judged.

Heating stops for at most ``off_min`` minutes after a detection, then resumes even if the window
stays open (a window left open all night must not let the building freeze); from ``over_min`` after
the detection, as soon as the air no longer falls below the model's prediction with the heater off
(:data:`CONFIRM_SHARE`), the cut ends: the window was closed, or was never open.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from rules import thermal
from rules.heating_config import WindowDetection
from rules.types import InputState

NS = 1_000_000_000
MINUTE_NS = 60 * NS
HOUR_NS = 60 * MINUTE_NS
#: history kept for the church's slow warm-up limit (the rise over 15 min)
HISTORY_MIN = 20
HISTORY_MAX_SAMPLES = 64
#: the trace's span and its sampling (one sample per this many seconds at most)
TRACE_MIN = 25
TRACE_STEP_S = 50
#: a window is a residual beyond this many times the residual's usual spread ...
NOISE_MULT = 4.0
#: ... whose spread is learned over this many samples (about six hours)
SPREAD_SAMPLES = 360
#: minutes without detection after an occupancy starts or ends
QUIET_MIN = 30
#: the air capacity's learning forgets with this weight per sample (about a day)
FORGET = 1 / 1440
#: the predictions are made with the learned air capacity times each of these
CAPACITY_SCALES = (0.5, 1.0, 2.0)
#: ... when the heater ran at least this share of the span
WARM_UP_SHARE = 0.7
#: a detection is a hypothesis, tested once the heater has rested ``over_min``: the air must still fall
#: below the model's prediction (the heater off, as it was) by this share of the detection threshold, or
#: the cut ends — a false alarm (a cold structure pulling the air down, as the model knew it would) costs
#: ``over_min`` of heating, not ``off_min``, and a window closed early gives its heat back early
CONFIRM_SHARE = 0.5
#: the zone is "held" when its air stays this close to the target ...
HELD_BAND_C = 1.5
#: ... over the span and this many minutes before it
HELD_EXTRA_MIN = 10

History = tuple[tuple[int, float], ...]
#: one tick of the trace: (time ns, measured air °C, heater power fraction since the last tick, structure °C)
TraceRow = tuple[int, float, float, float]
#: the detector's statistics: (Σ drive·rate, Σ drive², residual mean, residual variance, occupancy flag,
#: quiet until ns)
Stats = tuple[float, float, float, float, float, int]


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
    look like a change. ``None`` when the samples span less than 80 % of ``over_min``.
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


def add_trace(trace: tuple[TraceRow, ...], row: TraceRow) -> tuple[TraceRow, ...]:
    """The trace with this tick (at most one sample per :data:`TRACE_STEP_S`), bounded in time."""
    if trace and row[0] - trace[-1][0] < TRACE_STEP_S * NS:
        return trace
    horizon = row[0] - TRACE_MIN * MINUTE_NS
    return (*(r for r in trace if r[0] >= horizon), row)


@dataclass(frozen=True, slots=True)
class WindowState:
    """Whether heating is cut for an open window, since when, until when and why."""

    open: bool
    since_ns: int | None
    until_ns: int | None
    contact: str | None = None
    drop: float | None = None  # how far below the model's prediction the air fell (°C)


@dataclass(frozen=True, slots=True)
class Seen:
    """What the model-based detector needs this tick."""

    trace: tuple[TraceRow, ...]
    stats: Stats | None
    params: thermal.Params | None
    outdoor: float
    occ: float
    target: float | None = None  # the temperature the zone is held at (None: not held, not judged)


def detect(  # noqa: PLR0911 (a rule table: one return per rule)
    cfg: WindowDetection,
    inputs: Mapping[str, InputState],
    open_since_ns: int | None,
    now_ns: int,
    seen: Seen | None,
) -> tuple[WindowState, Stats | None]:
    """The window state at ``now_ns`` and the detector's updated statistics."""
    if not cfg.enabled:
        return WindowState(False, None, None), seen.stats if seen else None
    off_ns = int(cfg.off_min * MINUTE_NS)
    for contact in cfg.contacts:
        state = inputs.get(contact)
        if state is not None and state.active and now_ns < state.since_ns + off_ns:
            return WindowState(
                True, state.since_ns, state.since_ns + off_ns, contact=contact
            ), seen.stats if seen else None
    if seen is None or seen.params is None:
        return WindowState(False, None, None), None
    stats = _learn(seen, now_ns)
    sxy, sxx, mean, var, occ, quiet = stats
    threshold = max(cfg.drop_c_per_min * cfg.over_min, NOISE_MULT * math.sqrt(var))
    if open_since_ns is not None and now_ns < open_since_ns + off_ns:
        if now_ns >= open_since_ns + int(cfg.over_min * MINUTE_NS):  # tested while the heater rests
            after = _residual(cfg, seen, air_capacity(seen.params, stats), now_ns)
            if after is not None and mean - after[0] < CONFIRM_SHARE * threshold:
                return WindowState(False, None, None), stats  # the air follows the model: no (or no more) window
        return WindowState(True, open_since_ns, open_since_ns + off_ns), stats
    found = _residual(cfg, seen, air_capacity(seen.params, stats), now_ns) if _held(cfg, seen, now_ns) else None
    if found is None:
        return WindowState(False, None, None), stats
    residual, fell, flat_out = found
    drop = mean - residual
    if drop >= threshold and (fell >= threshold / 2 or not flat_out) and now_ns >= quiet:
        return WindowState(True, now_ns, now_ns + off_ns, drop=round(drop, 2)), stats
    mean += (residual - mean) / SPREAD_SAMPLES
    var += ((residual - mean) ** 2 - var) / SPREAD_SAMPLES
    return WindowState(False, None, None), (sxy, sxx, mean, var, occ, quiet)


def _learn(seen: Seen, now_ns: int) -> Stats:
    """Update the air capacity's sums and the quiet time after an occupancy change."""
    sxy, sxx, mean, var, occ, quiet = seen.stats if seen.stats is not None else (0.0, 0.0, 0.0, 0.01, seen.occ, 0)
    if seen.occ != occ:
        quiet = now_ns + QUIET_MIN * MINUTE_NS
        occ = seen.occ
    trace, p = seen.trace, seen.params
    if p is not None and len(trace) >= 2 and trace[-1][0] == now_ns:
        before, last = trace[-2], trace[-1]
        hours = (last[0] - before[0]) / HOUR_NS
        if 0 < hours < 0.1:
            rate = (last[1] - before[1]) / hours  # K/h over one interval, the heater at last[2] throughout
            h_ao = p.h_ao + p.h_occ * seen.occ
            drive = (
                p.f * last[2] + p.g * seen.occ - h_ao * (before[1] - seen.outdoor) - p.h_am * (before[1] - before[3])
            )
            sxy = (1 - FORGET) * sxy + drive * rate
            sxx = (1 - FORGET) * sxx + drive * drive
    return (sxy, sxx, mean, var, occ, quiet)


def _held(cfg: WindowDetection, seen: Seen, now_ns: int) -> bool:
    """Whether the zone has been held at its target long enough to be judged."""
    if seen.target is None:
        return False
    since = now_ns - int((cfg.over_min + HELD_EXTRA_MIN) * MINUTE_NS)
    span = [r for r in seen.trace if r[0] >= since]
    covered = bool(seen.trace) and seen.trace[0][0] <= since
    return covered and all(abs(r[1] - seen.target) <= HELD_BAND_C for r in span)


def air_capacity(p: thermal.Params, stats: Stats | None) -> thermal.Params:
    """The model with the air capacity learned from the trace, once there is enough of it."""
    if stats is None:
        return p
    sxy, sxx = stats[0], stats[1]
    if sxx < 5 or sxy <= 0:
        return p
    c_a = sxx / sxy
    if not 0.2 * p.c_a <= c_a <= 5 * p.c_a:
        return p
    return replace(p, c_a=c_a)


def _residual(cfg: WindowDetection, seen: Seen, p: thermal.Params, now_ns: int) -> tuple[float, float, bool] | None:
    """(The measured air minus the model's prediction from ``over_min`` ago, how much the air fell,
    whether the heater ran at full power throughout) in °C; ``None`` if the trace does not cover the span.

    Both ends are averages of a few samples (the noise), each compared at its own time (a mean of
    samples lags a fast warm-up)."""
    trace = seen.trace
    start_ns = now_ns - int(cfg.over_min * MINUTE_NS)
    past = [r for r in trace if r[0] <= start_ns]
    if len(past) < 2 or trace[-1][0] != now_ns:
        return None
    if len([r for r in trace if r[0] > start_ns]) < cfg.over_min / 2:  # too sparse to tell
        return None
    first = past[-3:]
    t0 = sum(r[0] for r in first) // len(first)
    v0 = sum(r[1] for r in first) / len(first)
    later = [r for r in trace if r[0] > t0]
    recent = [r for r in later if r[0] >= now_ns - 2 * MINUTE_NS]
    warming = sum(r[2] for r in later) >= WARM_UP_SHARE * len(later)
    residuals = []
    for scale in CAPACITY_SCALES if warming else (1.0,):
        q = replace(p, c_a=p.c_a * scale)
        now = thermal.Now(v0, first[-1][3], seen.outdoor, seen.occ)
        t, gaps = t0, []
        for row in later:
            now = thermal.step(q, now, u=row[2], hours=(row[0] - t) / HOUR_NS)
            t = row[0]
            if row in recent:
                gaps.append(row[1] - now.ta)
        residuals.append(sum(gaps) / len(gaps))
    fell = v0 - sum(r[1] for r in recent) / len(recent)
    return max(residuals), fell, all(r[2] >= 0.999 for r in later)
