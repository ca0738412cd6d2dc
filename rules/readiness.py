"""How warm the structure must be at arrival: learned per zone from how its occupancies went.

Rules of this module: pure functions over the zone's memory.

Optimum start (rules.preheat) heats until the air is at its target *and* the structure is within
``ready_gap_c`` of it: a structure left colder pulls the air down once people are in (their
ventilation, the heaters resting), and a room warm at arrival goes cold at ten. How close it must be
depends on what the model sees least well — the heaters' real power, convectors on fil pilote whose
power nobody measures, a class's ventilation — so it is learned from each attended occupancy, not
computed:

- from :data:`JUDGED_MIN` after the start (the arrival is rules.arrival's business) to the end (or
  until the zone coasts on its structure, optimum stop, when the thermostat holds a lower floor on
  purpose), the air's 15-minute mean (the comfort criterion's own span) is watched: falling :data:`SAG_C` below the
  target means the structure was not ready, and the gap closes by :data:`TIGHTEN_C` (down to
  :data:`MIN_GAP_C`) — a margin before the comfort line (target − 0.5 °C) is crossed;
- an occupancy held without a sag opens it by :data:`RELAX_C` (up to :data:`MAX_GAP_C`), by
  :data:`RELAX_SPARE_C` when the heater had power to spare over its first hour (it ran under
  :data:`SPARE_DUTY` of the time: the structure could have been colder);
- occupancies shorter than :data:`MIN_JUDGED_H` (a no-show dropped to réduit, a restart) teach nothing.

The gap starts at :data:`PRIOR_GAP_C`: the value the sobriety matrix found safe for every zone
(bench/sobriety.py, docs/rules.md), from which a zone with spare power learns to start later.
"""

from __future__ import annotations

History = tuple[tuple[int, float], ...]

NS = 1_000_000_000
MINUTE_NS = 60 * NS
HOUR_NS = 60 * MINUTE_NS
#: the gap before anything is learned (°C)
PRIOR_GAP_C = 4.0
#: never asked closer than this (it would take for ever: the structure settles below the air) ...
MIN_GAP_C = 2.0
#: ... nor looser than this (°C)
MAX_GAP_C = 10.0
#: a sag closes the gap by this much (°C) ...
TIGHTEN_C = 1.5
#: ... a good occupancy opens it by this much, or by the next figure with power to spare (°C)
RELAX_C = 0.25
RELAX_SPARE_C = 0.75
#: the heater "had power to spare" when it ran less than this share of the occupancy's first hour
SPARE_DUTY = 0.7
#: a 15-minute mean this far below the target is a sag (°C; the comfort line is at 0.5)
SAG_C = 0.3
#: the arrival's span, judged by rules.arrival, is not watched here (min)
JUDGED_MIN = 15
#: the air's mean is taken over this span (min)
MEAN_MIN = 15
#: occupancies shorter than this are not judged (h)
MIN_JUDGED_H = 1.0

#: the occupancy being watched: (start ns, last tick ns, Σ heater fraction over its first hour, ticks
#: with a known heater fraction, sagged 0/1)
Watch = tuple[int, int, float, int, int]


def watch(
    watched: Watch | None,
    gap: float | None,
    *,
    since_ns: int | None,
    goal: float | None,
    history: History,
    u: float | None,
    now_ns: int,
    coasting: bool = False,
) -> tuple[Watch | None, float | None]:
    """Fold this tick into the occupancy being watched; judge it once it is over (``since_ns`` changes).
    ``coasting``: the zone coasts to the end (optimum stop), its thermostat holding the floor on purpose —
    not a sag."""
    if watched is not None and watched[0] != since_ns:
        gap = judge(watched, gap)
        watched = None
    if since_ns is None or goal is None:
        return watched, gap
    if watched is None:
        watched = (since_ns, now_ns, 0.0, 0, 0)
    start, _, duty, ticks, sagged = watched
    if u is not None and now_ns <= start + HOUR_NS:
        duty, ticks = duty + u, ticks + 1
    if now_ns >= start + JUDGED_MIN * MINUTE_NS and not coasting:
        mean = mean_c(history, now_ns)
        if mean is not None and mean < goal - SAG_C:
            sagged = 1
    return (start, now_ns, duty, ticks, sagged), gap


def judge(watched: Watch, gap: float | None) -> float:
    """The gap after an occupancy (see the module docstring)."""
    current = PRIOR_GAP_C if gap is None else gap
    start, last, duty, ticks, sagged = watched
    if last - start < MIN_JUDGED_H * HOUR_NS:
        return current
    if sagged:
        return max(MIN_GAP_C, current - TIGHTEN_C)
    spare = ticks > 0 and duty / ticks < SPARE_DUTY
    return min(MAX_GAP_C, current + (RELAX_SPARE_C if spare else RELAX_C))


def mean_c(history: History, now_ns: int) -> float | None:
    """The mean of the readings of the last :data:`MEAN_MIN` minutes, if they cover most of it."""
    since = now_ns - MEAN_MIN * MINUTE_NS
    recent = [(t, v) for t, v in history if t >= since]
    if len(recent) < 3 or recent[0][0] > since + 5 * MINUTE_NS:  # history is oldest first
        return None
    return sum(v for _, v in recent) / len(recent)
