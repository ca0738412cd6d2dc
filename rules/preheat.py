"""Optimum start, optimum stop and setback depth, from the zone's model (rules.thermal).

Rules of this module: pure functions; the engine calls them with the zone's model and its state.

- **Optimum start** (relance optimisée): the lead is the model's time from the air and structure
  temperatures now until the zone is *ready*: the air at the occupancy's target and the structure
  warm enough that the thermostat can hold it (a structure left cold by a deep setback pulls the air
  down several tenths of a degree a minute whenever the heater rests); times ``margin``, plus a few
  minutes; a slow warm-up limit (churches) lengthens it. Preheating begins when the time left is no more than the
  lead. A lead beyond ``max_preheat_h`` heats from the cap and says how late the zone will be.
- **Setback depth**: in a gap whose mode is réduit the zone may cool towards hors-gel (less heat is
  lost from a cooler building: with direct electric heating a deeper setback always costs less) as
  long as the recovery the model predicts stays within ``SETBACK_SHARE`` of the cap; past that it
  holds the temperature it has reached (never above réduit).
- **Optimum stop**: in the last hours of an occupancy the heater stops when the model says the air
  stays above the thermostat's own floor (target − ``cold_tolerance``) until the end; the thermostat
  then heats only at that floor, in a narrow band (:data:`COAST_BAND_C`), so a wrong prediction costs
  a little heating, not comfort.
- **Hold and anticipation**: a heater about to stop at target + ``hot_tolerance`` stays on when the
  model says its minimum off time would let the air fall near the comfort floor (a cold structure
  after a deep setback pulls the air down fast), up to target + :data:`HOLD_MAX_OVER_C`; a resting
  heater starts a tick early when the model says the air will be below its threshold by then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rules import readiness, thermal, zone_model
from rules.heating_config import HeatingConfig

NS = 1_000_000_000
HOUR_NS = 3600 * NS
#: added to every predicted lead: the tick, the thermometer's lag, the model's rounding (h)
SAFETY_H = 0.15
#: a deep setback lasts while the recovery stays within this share of ``max_preheat_h``
SETBACK_SHARE = 0.75
#: occupied time counts as uncomfortable below target − this (issue 10's criterion)
COMFORT_BAND_C = 0.5
#: coasting: the thermostat heats at the floor (target − cold_tolerance) and stops this much above it
COAST_BAND_C = 0.2
#: coasting is chosen when the model keeps the air this much above the floor to the end
STOP_MARGIN_C = 0.1
#: the hold keeps a heater on until the air is this far above its target at most ...
HOLD_MAX_OVER_C = 1.0
#: ... as long as a minimum off time would end less than this above the comfort floor (target − 0.5 °C)
HOLD_MARGIN_C = 0.2
#: rounds of the fixed point that forecasts the next preheat's start
FORECAST_ROUNDS = 6
#: the thermostat switches on a tick early when the model says the air crosses its threshold by then (h)
NEXT_TICK_H = 1 / 60
#: coasting is considered only this close to the end of an occupancy (h)
MAX_COAST_H = 4.0
#: a ready room's air, off for its minimum off time, stays this far above the comfort floor (°C)
READY_MARGIN_C = 0.2
#: how far below their band electric convectors on fil pilote may let the air dip while their heat returns
PILOT_DIP_C = 0.5


@dataclass(frozen=True, slots=True)
class Start:
    """Whether to begin preheating now, the lead predicted (h) and how late the zone will be (h)."""

    begin: bool
    lead_h: float | None
    late_h: float | None = None


def ready_structure_c(
    cfg: HeatingConfig, p: thermal.Params, goal: float, outdoor: float, gap: float | None = None
) -> float:
    """The structure's temperature at which the thermostat can hold ``goal``: a structure colder
    than this pulls the air down so fast that, even held on to ``goal`` + :data:`HOLD_MAX_OVER_C`,
    the heater's minimum off time (and one tick) lets it fall below the comfort floor (``goal`` −
    :data:`COMFORT_BAND_C`) — the room is at its target but not *ready*. A structure within ``gap`` of
    the goal (what the zone's occupancies taught, rules.readiness; ``None``: the prior) is ready
    whatever this says."""
    if cfg.pilot_wire is None:  # our thermostat: held on up to HOLD_MAX_OVER_C, then off min_off + a tick
        off_h = cfg.min_off_min / 60 + NEXT_TICK_H + zone_model.lag_h(cfg)
        allowed = (HOLD_MAX_OVER_C + COMFORT_BAND_C - READY_MARGIN_C) / off_h  # K/h the air may fall
    else:  # the convectors' own thermostat: their lag before the heat returns, a dip of PILOT_DIP_C below
        off_h = zone_model.lag_h(cfg)  # their band at most (the comfort line is judged on a 15-minute mean)
        allowed = (PILOT_DIP_C + COMFORT_BAND_C - READY_MARGIN_C) / max(off_h, NEXT_TICK_H)
    h_ao = p.h_ao + p.h_occ
    dip = (allowed * p.c_a - h_ao * max(goal - outdoor, 0.0) + p.g) / p.h_am
    learned = readiness.PRIOR_GAP_C if gap is None else gap
    return goal - max(readiness.MIN_GAP_C, dip, learned)


def lead(
    cfg: HeatingConfig,
    p: thermal.Params,
    now: thermal.Now,
    goal: float,
    factor: float = 1.0,
    *,
    gap: float | None = None,
) -> float:
    """The lead (h) until the zone is *ready* at ``goal``: the air there and the structure warm enough
    to hold it (:func:`ready_structure_c`), with the margin, the safety and the rise limit."""
    ready = ready_structure_c(cfg, p, goal, now.to, gap)
    if now.ta >= goal and now.tm >= ready:
        return 0.0
    air_h = thermal.lead_h(p, now, goal)
    if math.isinf(air_h):
        return air_h
    hours = air_h
    _, tm = thermal.path(p, now, u=1.0).at(air_h)
    if tm < ready:  # then the thermostat holds the air at the goal while the structure warms
        hours += thermal.mass_hold_h(p, tm=tm, ta=goal, to=now.to, target=ready)
    if cfg.max_rise_c_per_h is not None:
        hours = max(hours, (goal - now.ta) / cfg.max_rise_c_per_h)
    return hours * cfg.optimum_start.margin * factor + SAFETY_H


def start(
    cfg: HeatingConfig,
    p: thermal.Params,
    now: thermal.Now | None,
    *,
    goal: float,
    hours_left: float,
    factor: float = 1.0,
    gap: float | None = None,
) -> Start:
    """Optimum start for an occupancy ``hours_left`` away asking for ``goal`` °C (``factor``: what
    arrivals taught, rules.arrival)."""
    cap = cfg.optimum_start.max_preheat_h
    if now is None:  # nothing known of the zone's temperature: heat from the cap
        return Start(hours_left <= cap, None)
    needed = lead(cfg, p, now, goal, factor, gap=gap)
    if needed <= cap:
        return Start(hours_left <= needed, needed)
    return Start(hours_left <= cap, needed, needed - cap)


def setback(
    cfg: HeatingConfig,
    p: thermal.Params,
    now: thermal.Now,
    *,
    goal: float,
    hold_c: float | None,
    factor: float = 1.0,
    gap: float | None = None,
) -> float | None:
    """In a réduit gap: ``None`` to keep cooling towards hors-gel, or the temperature to hold (°C)."""
    if hold_c is not None:
        return hold_c
    if lead(cfg, p, now, goal, factor, gap=gap) < SETBACK_SHARE * cfg.optimum_start.max_preheat_h:
        return None
    return min(cfg.setpoints.reduit, max(cfg.setpoints.hors_gel, now.ta))


def coast(cfg: HeatingConfig, p: thermal.Params, now: thermal.Now, *, goal: float, hours_left: float) -> bool:
    """Whether the zone can coast on its structure to the end of the occupancy (``hours_left``)."""
    if not cfg.optimum_start.stop or hours_left > MAX_COAST_H or hours_left <= 0:
        return False
    floor = goal - cfg.cold_tolerance + STOP_MARGIN_C
    return now.ta >= floor and thermal.coast_min_c(p, now, hours_left) >= floor


def next_start_h(
    cfg: HeatingConfig,
    p: thermal.Params,
    now: thermal.Now,
    *,
    goal: float,
    hours_left: float,
    factor: float = 1.0,
    gap: float | None = None,
) -> float | None:
    """When (hours from now) preheating should begin if the zone cools freely until then: the
    admin page's "tomorrow's heating starts at". ``None`` when it has begun or is unknown.

    A fixed point ``t = hours_left − lead(state at t)``: the lead changes slowly with the time the
    zone cools, so a few rounds settle it to the minute."""
    if hours_left <= 0:
        return None
    cooling = thermal.path(p, now, u=0.0)
    cap = cfg.optimum_start.max_preheat_h
    t = max(0.0, hours_left - min(lead(cfg, p, now, goal, factor, gap=gap), cap))
    for _ in range(FORECAST_ROUNDS):
        ta, tm = cooling.at(t)
        nxt = max(0.0, hours_left - min(lead(cfg, p, thermal.Now(ta, tm, now.to), goal, factor, gap=gap), cap))
        if abs(nxt - t) < 1 / 60:
            return nxt
        t = nxt
    return t
