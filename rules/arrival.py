"""How each arrival went: the zone learns to start earlier when people found it cold.

Rules of this module: pure functions over the zone's memory.

The model predicts the lead; what it leaves out (heaters slower than thought, a class's ventilation
at arrival, a thermometer placed near a convector) shows at arrivals. Over the first
:data:`JUDGED_MIN` minutes of each attended occupancy the measured air is averaged; below the
occupancy's target − 0.5 °C, the arrival was late and the zone's ``lead_factor`` grows with the
deficit (:data:`LATE_STEP`, up to :data:`MAX_FACTOR`); on time, it shrinks back by
:data:`ON_TIME_STEP` (down to 1). The factor multiplies every predicted lead (rules.preheat).
"""

from __future__ import annotations

NS = 1_000_000_000
MINUTE_NS = 60 * NS
#: an arrival is judged on the mean air over its first minutes
JUDGED_MIN = 30
#: a late arrival lengthens every lead by 1 + this × its deficit (°C, at most 2) ...
LATE_STEP = 0.5
#: ... up to this much
MAX_FACTOR = 3.0
#: an arrival on time shortens them by this factor (slowly: lateness costs comfort, earliness energy)
ON_TIME_STEP = 0.97
#: occupied time counts as late below target − this (the simulator's comfort line, issue 10)
COMFORT_BAND_C = 0.5

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
) -> tuple[Arrival | None, float]:
    """Fold this tick into the arrival being watched; judge it once its first minutes are over."""
    if since_ns is None or goal is None:
        return arrival, factor
    if arrival is None or arrival[0] != since_ns:
        if now_ns > since_ns + MINUTE_NS * 2:  # joined late (a restart): not judged
            return (since_ns, 0.0, -1), factor
        arrival = (since_ns, 0.0, 0)
    start, total, count = arrival
    if count < 0:
        return arrival, factor
    if now_ns < since_ns + JUDGED_MIN * MINUTE_NS:
        if measured is not None:
            return (start, total + measured, count + 1), factor
        return arrival, factor
    if count == 0:
        return (start, 0.0, -1), factor
    deficit = goal - COMFORT_BAND_C - total / count
    if deficit > 0:  # late: the colder, the longer the next leads
        factor = min(MAX_FACTOR, factor * (1 + LATE_STEP * min(deficit, 2.0)))
    else:
        factor = max(1.0, factor * ON_TIME_STEP)
    return (start, 0.0, -1), round(factor, 4)
