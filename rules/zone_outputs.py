"""A zone's outputs from its plan: the thermostat's relay, the pilot-wire order, local heating of people.

Rules of this module: pure; every action carries its reason; the order of the thermostat's rules is
rules.heating's. A silent thermometer never keeps a heater on by its last value: with
``failsafe.mode = "model"`` the model's air temperature (rules.zone_model's virtual thermometer) is
held at a safe target (rules.failsafe); ``duty`` and ``off`` are the older fixed behaviours.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rules import heating as thermostat
from rules import pilot_wire, preheat, thermal, window, zone_model
from rules.config import ZoneSpec
from rules.failsafe import failsafe_target
from rules.heating_config import HeatingConfig
from rules.types import Action, Notice, ParamValue, RelayState, State, ZoneMemory, ZoneStatus
from rules.vocab import Mode
from rules.zone_plan import Forecast, Plan, Reasons, ZoneResult

NS = 1_000_000_000
MINUTE_NS = 60 * NS


@dataclass(frozen=True, slots=True)
class Observed:
    """The zone's thermometers this tick: the fresh mean, the newest reading's time, its age (min)."""

    measured: float | None
    measured_ns: int | None
    age_min: float | None


def outputs(
    zone: ZoneSpec,
    state: State,
    mem: ZoneMemory,
    plan: Plan,
    *,
    seen: Observed,
    model: tuple[zone_model.View, Forecast] | None,
    win: window.WindowState,
    conditions: dict[str, Notice],
    rz: Reasons,
    now_ns: int,
) -> ZoneResult:
    """The zone's actions, status, memory and active conditions."""
    cfg = zone.heating
    view = model[0] if model is not None else None
    conditions.update(_notices(zone, win, seen, view, rz))
    common: dict[str, ParamValue | None] = {
        "zone": zone.title,
        "mode": plan.mode,
        "target": round(plan.target, 1) if plan.target is not None else None,
        "measured": round(seen.measured, 1) if seen.measured is not None else None,
        "source": plan.source,
        "label": plan.label or None,
        "until_ns": plan.until_ns,
        "setpoint": True if plan.setpoint and plan.target is not None else None,
        "coast": True if plan.coast else None,
    }
    actions: tuple[Action, ...]
    if cfg.pilot_wire is not None:
        actions, on = _pilot(cfg, plan, seen=seen, win=win, view=view, words=common, rz=rz, subject=f"zone:{zone.key}")
    else:
        mem, action, on = _relay(
            zone,
            state,
            mem,
            plan,
            seen=seen,
            win=win,
            view=view,
            words=common,
            conditions=conditions,
            rz=rz,
            now_ns=now_ns,
        )
        actions = (action,)
    status = ZoneStatus(
        zone=zone.key,
        mode=plan.mode,
        target_c=plan.target,
        measured_c=seen.measured,
        heating=on,
        occupied=plan.occupied,
        reason=actions[0].reason,
        next_change_ns=plan.until_ns,
        model=view.summary(next_start_ns=model[1].start_ns, lead_h=model[1].lead_h) if model and view else None,
    )
    return ZoneResult(actions, status, mem, conditions)


def _pilot(
    cfg: HeatingConfig,
    plan: Plan,
    *,
    seen: Observed,
    win: window.WindowState,
    view: zone_model.View | None,
    words: dict[str, ParamValue | None],
    rz: Reasons,
    subject: str,
) -> tuple[tuple[Action, ...], bool]:
    assert cfg.pilot_wire is not None
    asked: Mode = cfg.setpoints.mode_for(plan.target) if plan.setpoint and plan.target is not None else plan.mode
    if plan.coast and plan.target is not None:
        # coasting: the convectors rest (eco) while the room stays above the comfort floor
        floor = plan.target - cfg.cold_tolerance + preheat.COAST_BAND_C / 2
        warm = seen.measured is not None and seen.measured > floor
        asked = "reduit" if warm else "confort"
    order_mode: Mode = "hors_gel" if win.open and asked in ("confort", "reduit") else asked
    order = pilot_wire.ORDER_OF_MODE[order_mode]
    plus, minus = pilot_wire.relays_for(order)
    code = "pilot_window" if win.open and order_mode != asked else "pilot_order"
    estimated = view.memory.virtual if view is not None and view.virtual else None
    reason = rz(code, order=order, estimated=round(estimated, 1) if estimated is not None else None, **words)
    actions = (Action(cfg.pilot_wire.plus, plus, reason, subject), Action(cfg.pilot_wire.minus, minus, reason, subject))
    return actions, order != "arret"


def _relay(
    zone: ZoneSpec,
    state: State,
    mem: ZoneMemory,
    plan: Plan,
    *,
    seen: Observed,
    win: window.WindowState,
    view: zone_model.View | None,
    words: dict[str, ParamValue | None],
    conditions: dict[str, Notice],
    rz: Reasons,
    now_ns: int,
) -> tuple[ZoneMemory, Action, bool]:
    cfg = zone.heating
    relay = state.relays.get(cfg.outputs[0], RelayState(False, None))
    rise = window.slope_c_per_min(mem.history, 15.0) if cfg.max_rise_c_per_h is not None else None
    x = thermostat.Inputs(
        target_c=plan.target,
        measured_c=seen.measured,
        stale_min=seen.age_min,
        window_open=win.open,
        rise_c_per_h=rise * 60 if rise is not None else None,
        relay=relay,
        now_ns=now_ns,
    )
    if cfg.kind == "people":
        # local heating of people: on through the occupancy and its short lead, whatever the air,
        # unless a thermometer says the air alone already gives the target
        warm = seen.measured is not None and plan.target is not None and seen.measured >= plan.target
        on = plan.mode == "confort" and not warm
        outcome = thermostat.limits(cfg, thermostat.Outcome(on, "people_on" if on else "people_off"), x)
    elif seen.measured is None and cfg.failsafe.mode == "model" and view is not None and view.now is not None:
        estimated = view.now.ta
        safe = failsafe_target(cfg, plan.target, outdoor=view.now.to if view.outdoor_known else None)
        outcome = thermostat.relay_decision(cfg, replace(x, target_c=safe, measured_c=estimated))
        outcome = replace(outcome, code=_FAILSAFE.get(outcome.code, outcome.code))
        words = {**words, "estimated": round(estimated, 1), "target": round(safe, 1)}
    else:
        outcome = _room(cfg, plan, x, view, mem)
    max_on_since = _max_on_since(
        cfg, mem.max_on_since_ns, code=outcome.code, relay=relay, measured_ns=seen.measured_ns, now_ns=now_ns
    )
    mem = mem.model_copy(update={"max_on_since_ns": max_on_since})
    if max_on_since is not None:
        reason = rz("heat_max_on", zone=zone.title, hours=round(cfg.max_on_h, 1), since_ns=max_on_since)
        conditions[f"heater_max_on:{zone.key}"] = Notice("heater_max_on", zone.key, "warning", reason)
    reason = rz(outcome.code, **words, **dict(outcome.params))
    return mem, Action(cfg.outputs[0], outcome.on, reason, f"zone:{zone.key}"), outcome.on


def _room(
    cfg: HeatingConfig, plan: Plan, x: thermostat.Inputs, view: zone_model.View | None, mem: ZoneMemory
) -> thermostat.Outcome:
    """The room thermostat, with optimum stop's narrow band at the comfort floor and the hold that
    keeps a heater on when its minimum off time would let the air fall below the floor."""
    goal, measured = plan.target, x.measured_c
    if plan.coast and goal is not None and measured is not None and not x.window_open:
        floor = goal - cfg.cold_tolerance
        on = measured < floor + preheat.COAST_BAND_C if x.relay.on else measured <= floor
        return thermostat.limits(cfg, thermostat.Outcome(on, "heat_on" if on else "heat_off_enough"), x)
    out = thermostat.relay_decision(cfg, x)
    if goal is None or measured is None or view is None or view.now is None or x.window_open:
        return out
    p = window.air_capacity(view.params, mem.window_stats)
    falling = thermal.path(p, replace(view.now, ta=measured, occ=1.0 if plan.occupied else 0.0), u=0.0)
    floor = goal - cfg.cold_tolerance
    lag = zone_model.lag_h(cfg)
    if out.code == "heat_off_enough" and falling.air(preheat.NEXT_TICK_H + lag) <= floor:
        # the air will cross the threshold before the heaters (a tick and their own lag away) warm it
        return thermostat.limits(cfg, thermostat.Outcome(True, "heat_on"), x)
    if out.code != "heat_off_reached" or measured >= goal + preheat.HOLD_MAX_OVER_C:
        return out
    off_h = cfg.min_off_min / 60 + preheat.NEXT_TICK_H + lag
    if falling.air(off_h) >= goal - preheat.COMFORT_BAND_C + preheat.HOLD_MARGIN_C:
        return out
    return thermostat.Outcome(True, "heat_on_hold", (("minutes", round(cfg.min_off_min, 1)),))


#: the thermostat's codes while it holds the model's estimate (fail-safe by the model)
_FAILSAFE = {
    "heat_on": "heat_failsafe_model_on",
    "heat_off_reached": "heat_failsafe_model_off",
    "heat_off_enough": "heat_failsafe_model_off",
}


def _max_on_since(
    cfg: HeatingConfig,
    since_ns: int | None,
    *,
    code: str,
    relay: RelayState,
    measured_ns: int | None,
    now_ns: int,
) -> int | None:
    """When the ``heater_max_on`` condition started, or ``None`` once it is over.

    It starts when the thermostat cuts a heater for running ``max_on_h`` and lasts until a reading
    newer than the cut arrives (the temperature is known again) or the heater has rested its
    minimum off time — not a single tick."""
    if code == "heat_max_on":
        return since_ns if since_ns is not None else now_ns
    if since_ns is None:
        return None
    if measured_ns is not None and measured_ns > since_ns:
        return None
    rested = (
        not relay.on
        and relay.since_ns is not None
        and relay.since_ns >= since_ns
        and now_ns - relay.since_ns >= cfg.min_off_min * MINUTE_NS
    )
    return None if rested else since_ns


def _notices(
    zone: ZoneSpec, win: window.WindowState, seen: Observed, view: zone_model.View | None, rz: Reasons
) -> dict[str, Notice]:
    cfg = zone.heating
    conditions: dict[str, Notice] = {}
    if win.open:
        reason = rz("window_open", zone=zone.title, contact=win.contact, until_ns=win.until_ns, drop=win.drop)
        conditions[f"window_open:{zone.key}"] = Notice("window_open", zone.key, "info", reason)
    if seen.measured is None and cfg.sensors:
        minutes = round(seen.age_min) if seen.age_min is not None else None
        if cfg.pilot_wire is not None:
            safe = "pilot"
        elif cfg.kind == "people":
            safe = "people"
        elif cfg.failsafe.mode == "model":
            safe = "model" if view is not None and view.outdoor_known else "model_blind"
        else:
            safe = cfg.failsafe.mode
        reason = rz("sensor_stale", zone=zone.title, minutes=minutes, safe=safe)
        evidence = (("sensors", ",".join(cfg.sensors)),)
        conditions[f"sensor_stale:{zone.key}"] = Notice("sensor_stale", zone.key, "warning", reason, evidence)
    return conditions
