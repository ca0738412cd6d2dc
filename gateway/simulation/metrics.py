"""What is measured of one zone under one controller, over the reported period only.

Rules of this module:
- comfort is judged on the zone's comfort temperature (the air, what a thermometer at 1.5 m in the
  room centre reads, R241-26; the felt temperature for a zone heated only by local heating);
- "occupied" means people present (a no-show is not occupied); "below target" is occupied time with
  the comfort temperature, as a mean over the last :data:`COMFORT_MEAN_H` (15 minutes), under the
  occurrence's target − 0.5 °C. A mean, as comfort standards assess it (EN 16798-1 judges hourly
  values; the people's operative temperature follows the walls and smooths the air's swings): a
  thermostat's on/off cycle that dips the air for a minute is not a cold room, a late warm-up or a
  cold hour is. The minute-by-minute figure is reported too (``..._instant``). The parts of it during an injected
  sensor outage, and while a simulated window is open or within 30 minutes of its closing (people
  airing a room expect it cold; every controller is in the same world), are reported separately and
  left out of the percentage (the acceptance criterion);
- an occurrence is "late" when the comfort temperature over its first 15 minutes with people present
  (mean of those ticks) is under its target − 0.5 °C (the programmer's lead search uses the same
  test). A mean rather than the first tick alone: a thermostat's cycle dips the air by a few hundredths
  below the line for a minute now and then, which must not decide whether a room was warm at arrival;
- energy is the heater's electricity between the first and the last reported tick.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from drivers.sim.zone_model import ZoneModel
from gateway.simulation.world import Clock, Occurrence, ZoneWorld

#: occupied time counts as "below target" under target − this (issue 3)
BELOW_TARGET_MARGIN_C = 0.5
#: an occurrence is on time when its comfort temperature over this first span is above the line
ARRIVAL_H = 0.25
#: comfort is judged on the mean comfort temperature over this span (h)
COMFORT_MEAN_H = 0.25


@dataclass(slots=True)
class ZoneMetrics:
    """Accumulators for one zone and one controller."""

    occupied_h: float = 0.0
    below_h: float = 0.0
    occupied_outage_h: float = 0.0  # outages and windows (excluded from the percentage)
    below_outage_h: float = 0.0
    below_window_h: float = 0.0  # the part of below_outage_h due to windows (not to outages)
    min_c: float = math.inf
    max_c: float = -math.inf
    switches: int = 0
    late: int = 0
    on_time: int = 0
    start: tuple[float, float, float, float] | None = None  # model's energy, gains, loss, stored at the start
    energy_kwh: float = 0.0
    gains_kwh: float = 0.0  # occupants, internal and solar gains that entered
    loss_kwh: float = 0.0  # heat lost to outside
    stored_kwh: float = 0.0  # change of the heat stored in air and structure
    late_at: list[int] = field(default_factory=list)  # start times (ns) of late occurrences
    below_instant_h: float = 0.0  # minute by minute, not averaged
    _arrival: dict[int, list[float]] = field(default_factory=dict)  # occurrence start_i -> [sum, count]
    _recent: deque[float] = field(default_factory=deque)  # comfort temperatures of the last COMFORT_MEAN_H

    def tick(self, zw: ZoneWorld, i: int, model: ZoneModel, dt_h: float) -> None:
        """Record tick ``i`` (a reported tick), before the model steps over it."""
        if self.start is None:
            self.start = (model.energy_kwh, model.gains_kwh, model.loss_kwh, model.stored_kwh)
        air = model.air_c
        self.min_c = min(self.min_c, air)
        self.max_c = max(self.max_c, air)
        comfort = model.comfort_c
        self._recent.append(comfort)
        while len(self._recent) > max(1, round(COMFORT_MEAN_H / dt_h)):
            self._recent.popleft()
        if not zw.present[i]:
            return
        occurrence = zw.occurrences[zw.occurrence[i]]
        line = occurrence.target_c - BELOW_TARGET_MARGIN_C
        below = sum(self._recent) / len(self._recent) < line
        self.occupied_h += dt_h
        if comfort < line:
            self.below_instant_h += dt_h
        if below:
            self.below_h += dt_h
        if zw.outage[i] or zw.aired[i]:
            self.occupied_outage_h += dt_h
            if below:
                self.below_outage_h += dt_h
                if not zw.outage[i]:
                    self.below_window_h += dt_h
        self._judge_arrival(occurrence, i, comfort, dt_h)

    def _judge_arrival(self, occurrence: Occurrence, i: int, comfort: float, dt_h: float) -> None:
        """Late or on time, from the mean comfort temperature over the occurrence's first minutes
        (an occurrence whose first tick is before the reported period is not judged)."""
        ticks = max(1, round(ARRIVAL_H / dt_h))
        last = min(occurrence.start_i + ticks, occurrence.end_i) - 1
        if not occurrence.start_i <= i <= last or (i > occurrence.start_i and occurrence.start_i not in self._arrival):
            return
        acc = self._arrival.setdefault(occurrence.start_i, [0.0, 0.0])
        acc[0] += comfort
        acc[1] += 1
        if i < last:
            return
        if acc[0] / acc[1] < occurrence.target_c - BELOW_TARGET_MARGIN_C:
            self.late += 1
            self.late_at.append(occurrence.start_ns)
        else:
            self.on_time += 1

    def finish(self, model: ZoneModel) -> None:
        """Close the period: the reported energy and heat balance (heating + gains = loss + stored)."""
        now = (model.energy_kwh, model.gains_kwh, model.loss_kwh, model.stored_kwh)
        start = self.start or now
        deltas = [a - b for a, b in zip(now, start, strict=True)]
        self.energy_kwh, self.gains_kwh, self.loss_kwh, self.stored_kwh = deltas

    @property
    def below_pct(self) -> float:
        """Occupied time below target outside sensor outages and airing, % of occupied time outside them."""
        occupied = self.occupied_h - self.occupied_outage_h
        return 100 * (self.below_h - self.below_outage_h) / occupied if occupied > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        """The figures of ``simulate --json`` for one zone and one controller."""
        return {
            "heating_kwh": round(self.energy_kwh, 1),
            "occupied_hours": round(self.occupied_h, 2),
            "occupied_hours_below_target": round(self.below_h, 2),
            "occupied_hours_below_target_instant": round(self.below_instant_h, 2),
            "occupied_pct_below_target": round(self.below_pct, 2),
            "below_target_hours_in_outages": round(self.below_outage_h - self.below_window_h, 2),
            "below_target_hours_in_windows": round(self.below_window_h, 2),
            "late_starts": self.late,
            "min_temperature_c": round(self.min_c, 2) if math.isfinite(self.min_c) else None,
            "max_temperature_c": round(self.max_c, 2) if math.isfinite(self.max_c) else None,
            "relay_switches": self.switches,
            "gains_kwh": round(self.gains_kwh, 1),
            "loss_kwh": round(self.loss_kwh, 1),
            "stored_change_kwh": round(self.stored_kwh, 1),
        }


def reported(clock: Clock, i: int) -> bool:
    """Whether tick ``i`` is in the reported period (after the warm-up)."""
    return i >= clock.report_i
