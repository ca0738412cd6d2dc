"""How each arrival went: the zone learns to start earlier when people found it cold.

Rules of this module: pure functions over the zone's memory.

The model predicts the lead; what it leaves out (heaters slower than thought, a class's ventilation
at arrival, a thermometer placed near a convector) shows at arrivals. The measured air is averaged
from :data:`BEFORE_MIN` minutes before each occupancy's start to :data:`JUDGED_MIN` after it — what
the comfort criterion sees at the start, a 15-minute mean that counts the minutes before it: a room
that reaches its target just as people walk in, after a slow rise, was cold for them. Below the
occupancy's target − :data:`JUDGE_BAND_C` (the comfort line is at 0.5 °C), the arrival was late and
the zone's ``lead_factor`` grows with the deficit (:data:`LATE_STEP`, up to :data:`MAX_FACTOR`); on
time, it shrinks back by :data:`ON_TIME_STEP` (down to 1). The factor multiplies every predicted lead
(rules.preheat).
"""

from __future__ import annotations

NS = 1_000_000_000
MINUTE_NS = 60 * NS
#: an arrival is judged on the air people find: the mean of the readings over its first minutes (over
#: 30 minutes a room 1 °C short at arrival and warm a quarter of an hour later passed as on time) ...
JUDGED_MIN = 2
#: ... and over this many before the start (the comfort line's 15-minute mean counts them; judged on
#: the last 5 only, a room warm five minutes before the start after a slow rise passed)
BEFORE_MIN = 15
#: a late arrival lengthens every lead by 1 + this × its deficit (°C, at most 2) ...
LATE_STEP = 1.0
#: ... up to this much
MAX_FACTOR = 3.0
#: an arrival on time shortens them by this factor (slowly: lateness costs comfort, earliness energy)
ON_TIME_STEP = 0.97
#: what a lead aims a quarter of a degree under (rules.people: the felt temperature at arrival) —
#: short of the thermostat's band (its cold tolerance, 0.3 °C by default)
ARRIVAL_BAND_C = 0.25
#: an arrival whose mean (the minutes before it included) is under target − this (°C) was late: a
#: margin of 0.15 °C before the comfort line (target − 0.5 °C, issue 10)
JUDGE_BAND_C = 0.35

#: the arrival being watched: (occupancy start ns, Σ measured °C, samples); samples −1 once judged
Arrival = tuple[int, float, int]


def watch(  # noqa: PLR0911 (one return per stage of an arrival)
    arrival: Arrival | None,
    factor: float,
    *,
    since_ns: int | None,
    goal: float | None,
    measured: float | None,
    now_ns: int,
    history: tuple[tuple[int, float], ...] = (),
) -> tuple[Arrival | None, float]:
    """Fold this tick into the arrival being watched; judge it once its first minutes are over.
    ``history``: the zone's recent readings, whose last :data:`BEFORE_MIN` minutes before the start
    count too (the air people walk into)."""
    if since_ns is None or goal is None:
        return arrival, factor
    if arrival is None or arrival[0] != since_ns:
        if now_ns > since_ns + MINUTE_NS * 2:  # joined late (a restart): not judged
            return (since_ns, 0.0, -1), factor
        before = [v for t, v in history if since_ns - BEFORE_MIN * MINUTE_NS <= t < since_ns]
        arrival = (since_ns, sum(before), len(before))
    start, total, count = arrival
    if count < 0:
        return arrival, factor
    if now_ns < since_ns + JUDGED_MIN * MINUTE_NS:
        if measured is not None:
            return (start, total + measured, count + 1), factor
        return arrival, factor
    if count == 0:
        return (start, 0.0, -1), factor
    deficit = goal - JUDGE_BAND_C - total / count
    if deficit > 0:  # late: the colder, the longer the next leads
        factor = min(MAX_FACTOR, factor * (1 + LATE_STEP * min(deficit, 2.0)))
    else:
        factor = max(1.0, factor * ON_TIME_STEP)
    return (start, 0.0, -1), round(factor, 4)
