"""Optimum start, optimum stop and setback depth, from the zone's model (rules.thermal).

Rules of this module: pure functions; the engine calls them with the zone's model and its state.

- **Optimum start** (relance optimisée): the lead is the model's time at full power from the air and
  structure temperatures now to the occupancy's target, times ``margin``, plus a few minutes; a slow
  warm-up limit (churches) lengthens it. Preheating begins when the time left is no more than the
  lead. A lead beyond ``max_preheat_h`` heats from the cap and says how late the zone will be.
- **Setback depth**: in a gap whose mode is réduit the zone may cool towards hors-gel (less heat is
  lost from a cooler building: with direct electric heating a deeper setback always costs less) as
  long as the recovery the model predicts stays within ``SETBACK_SHARE`` of the cap; past that it
  holds the temperature it has reached (never above réduit).
- **Optimum stop**: in the last hours of an occupancy the heater stops when the model says the air
  stays above the target − 0.5 °C until the end; the thermostat then holds that floor (target −
  0.4 °C), so a wrong prediction costs a little heating, not comfort.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rules import thermal
from rules.heating_config import HeatingConfig

NS = 1_000_000_000
HOUR_NS = 3600 * NS
#: added to every predicted lead: the tick, the thermometer's lag, the model's rounding (h)
SAFETY_H = 0.15
#: a deep setback lasts while the recovery stays within this share of ``max_preheat_h``
SETBACK_SHARE = 0.75
#: occupied time counts as uncomfortable below target − this (issue 10's criterion)
COMFORT_BAND_C = 0.5
#: coasting aims this much above the comfort floor
STOP_MARGIN_C = 0.2
#: the floor the thermostat holds while coasting, above target − COMFORT_BAND_C
COAST_FLOOR_C = 0.1
#: coasting is considered only this close to the end of an occupancy (h)
MAX_COAST_H = 4.0


@dataclass(frozen=True, slots=True)
class Start:
    """Whether to begin preheating now, the lead predicted (h) and how late the zone will be (h)."""

    begin: bool
    lead_h: float | None
    late_h: float | None = None


def lead(cfg: HeatingConfig, p: thermal.Params, now: thermal.Now, goal: float) -> float:
    """The lead (h) to reach ``goal`` from ``now``, with the margin, the safety and the rise limit."""
    if now.ta >= goal:
        return 0.0
    hours = thermal.lead_h(p, now, goal)
    if cfg.max_rise_c_per_h is not None:
        hours = max(hours, (goal - now.ta) / cfg.max_rise_c_per_h)
    return hours * cfg.optimum_start.margin + SAFETY_H


def start(cfg: HeatingConfig, p: thermal.Params, now: thermal.Now | None, *, goal: float, hours_left: float) -> Start:
    """Optimum start for an occupancy ``hours_left`` away asking for ``goal`` °C."""
    cap = cfg.optimum_start.max_preheat_h
    if now is None:  # nothing known of the zone's temperature: heat from the cap
        return Start(hours_left <= cap, None)
    needed = lead(cfg, p, now, goal)
    if needed <= cap:
        return Start(hours_left <= needed, needed)
    return Start(hours_left <= cap, needed, needed - cap)


def setback(
    cfg: HeatingConfig, p: thermal.Params, now: thermal.Now, *, goal: float, hold_c: float | None
) -> float | None:
    """In a réduit gap: ``None`` to keep cooling towards hors-gel, or the temperature to hold (°C)."""
    if hold_c is not None:
        return hold_c
    if lead(cfg, p, now, goal) < SETBACK_SHARE * cfg.optimum_start.max_preheat_h:
        return None
    return min(cfg.setpoints.reduit, max(cfg.setpoints.hors_gel, now.ta))


def coast(cfg: HeatingConfig, p: thermal.Params, now: thermal.Now, *, goal: float, hours_left: float) -> bool:
    """Whether the zone can coast on its structure to the end of the occupancy (``hours_left``)."""
    if not cfg.optimum_start.stop or hours_left > MAX_COAST_H or hours_left <= 0:
        return False
    floor = goal - COMFORT_BAND_C + STOP_MARGIN_C
    return now.ta >= floor and thermal.coast_min_c(p, now, hours_left) >= floor


def coast_target(cfg: HeatingConfig, goal: float) -> float:
    """The thermostat's target while coasting: it heats again only at the comfort floor."""
    return min(goal, goal - COMFORT_BAND_C + COAST_FLOOR_C + cfg.cold_tolerance)


def next_start_h(
    cfg: HeatingConfig, p: thermal.Params, now: thermal.Now, *, goal: float, hours_left: float
) -> float | None:
    """When (hours from now) preheating should begin if the zone cools freely until then: the
    admin page's "tomorrow's heating starts at". ``None`` when it has begun or is unknown."""
    if hours_left <= 0:
        return None

    cooling = thermal.path(p, now, u=0.0)

    def slack(t: float) -> float:
        ta, tm = cooling.at(t)
        needed = lead(cfg, p, thermal.Now(ta, tm, now.to), goal)
        return hours_left - t - min(needed, cfg.optimum_start.max_preheat_h)

    if slack(0.0) <= 0:
        return 0.0
    low, high = 0.0, hours_left
    for _ in range(30):
        mid = (low + high) / 2
        if slack(mid) > 0:
            low = mid
        else:
            high = mid
    return low if math.isfinite(low) else None
