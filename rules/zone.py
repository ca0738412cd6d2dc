"""One heated zone's decision: the mode it should be in, the temperature it aims at, its outputs.

Rules of this module (and of all of rules/): pure, level-triggered, every action with its reason.

The order of a zone's decision, each step in its own module:

1. the schedule (rules.schedule): slots, exceptions, holidays, bookings — or the site's safe mode
   while the clock is not trusted;
2. presence (rules.presence): an occupancy nobody attends drops to réduit after ``no_show_min``;
3. the zone's model (rules.zone_model): the hourly log, the structure's estimate, the virtual
   thermometer while the real one is silent, a new fit once a day;
4. optimum start, setback depth and optimum stop (rules.preheat), from the model;
5. open windows (rules.window): a contact, or the air falling faster than the model explains;
6. the outputs: the thermostat (rules.heating) on the measured — or, silent, the model's —
   temperature; the pilot-wire order (rules.pilot_wire); local heating of people.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from zoneinfo import ZoneInfo

from rules import arrival as arrival_of
from rules import people, pilot_wire, preheat, presence, readiness, schedule, thermal, window, zone_model
from rules.config import ZoneSpec
from rules.heating_config import HeatingConfig
from rules.holidays import Calendar
from rules.types import Notice, RelayState, SensorValue, State, ZoneMemory
from rules.vocab import Mode
from rules.zone_outputs import Observed, outputs
from rules.zone_plan import Forecast, Plan, Reasons, ZoneResult

NS = 1_000_000_000
MINUTE_NS = 60 * NS
HOUR_NS = 60 * MINUTE_NS
TEMPERATURE_FIELD = "temperature_c"
#: an outdoor reading older than this is not the outdoor temperature any more
OUTDOOR_STALE_NS = 3 * HOUR_NS

_RANK: dict[Mode, int] = {"confort": 0, "reduit": 1, "hors_gel": 2, "arret": 3}


def zone_temperature(
    zone: ZoneSpec, readings: Mapping[tuple[str, str], SensorValue], now_ns: int
) -> tuple[float | None, int | None, float | None]:
    """(mean of the fresh finite readings, newest reading time, minutes since the newest fresh one)."""
    stale_ns = int(zone.heating.failsafe.stale_after_min * MINUTE_NS)
    fresh: list[SensorValue] = []
    newest: int | None = None
    for sensor in zone.heating.sensors:
        value = readings.get((sensor, TEMPERATURE_FIELD))
        if value is None or not math.isfinite(value.value) or value.time_ns > now_ns + MINUTE_NS:
            continue
        newest = value.time_ns if newest is None else max(newest, value.time_ns)
        if now_ns - value.time_ns <= stale_ns:
            fresh.append(value)
    age_min = (now_ns - newest) / MINUTE_NS if newest is not None else None
    if not fresh:
        return None, newest, age_min
    return sum(v.value for v in fresh) / len(fresh), max(v.time_ns for v in fresh), age_min


def outdoor_temperature(
    cfg: HeatingConfig, readings: Mapping[tuple[str, str], SensorValue], now_ns: int
) -> float | None:
    """The outdoor temperature, if a thermometer gave it in the last three hours."""
    if cfg.outdoor_sensor is None:
        return None
    value = readings.get((cfg.outdoor_sensor, TEMPERATURE_FIELD))
    if value is None or not math.isfinite(value.value) or now_ns - value.time_ns > OUTDOOR_STALE_NS:
        return None
    return value.value


def decide_zone(
    zone: ZoneSpec,
    state: State,
    *,
    safe_mode: Mode,
    tz: ZoneInfo,
    now_ns: int,
    rz: Reasons,
    holidays: Calendar = "france",
) -> ZoneResult:
    """The zone's decision at ``now_ns`` (see the module docstring for the order of the steps)."""
    cfg = zone.heating
    mem = state.memory.zones.get(zone.key, ZoneMemory())
    measured, measured_ns, age_min = zone_temperature(zone, state.readings, now_ns)
    outdoor = outdoor_temperature(cfg, state.readings, now_ns)
    if measured is not None and measured_ns is not None:
        mem = mem.model_copy(update={"history": window.remember(mem.history, measured_ns, measured)})
    seen = Observed(measured, measured_ns, age_min)
    conditions: dict[str, Notice] = {}
    if not state.clock_trusted:
        plan = Plan(safe_mode, False, "clock", "", None, cfg.setpoints.of(safe_mode))
        win, _ = window.detect(cfg.window, state.inputs, None, now_ns, None)
        return outputs(
            zone, state, mem, plan, seen=seen, model=None, win=win, conditions=conditions, rz=rz, now_ns=now_ns
        )
    sched = schedule.evaluate(cfg, tz, zone.key, state.bookings, now_ns, holidays=holidays)
    plan = _scheduled(cfg, sched)
    mem, plan = _presence(zone, state, mem, sched, plan, conditions=conditions, rz=rz, now_ns=now_ns)
    if cfg.kind == "people":
        mem, plan = _people_lead(zone, sched, mem, plan, measured, conditions=conditions, rz=rz, now_ns=now_ns)
        win, _ = window.detect(cfg.window, state.inputs, None, now_ns, None)
        return outputs(
            zone, state, mem, plan, seen=seen, model=None, win=win, conditions=conditions, rz=rz, now_ns=now_ns
        )
    sample = zone_model.Sample(
        now_ns=now_ns,
        measured=measured,
        last=mem.history[-1] if mem.history else None,
        outdoor=outdoor,
        u=_power_since_last_tick(cfg, state, measured),
        occ=1.0 if plan.occupied else 0.0,
        fallback_outdoor=zone_model.fallback_outdoor(cfg, mem.model, silent=measured is None),
    )
    mem = mem.model_copy(update={"model": zone_model.observe(cfg, mem.model, sample)})
    model = zone_model.View(cfg, mem.model, measured, outdoor, air_stats=mem.window_stats)
    occupied_since = sched.since_ns if plan.occupied else None
    arrival, factor = arrival_of.watch(
        mem.arrival,
        mem.lead_factor,
        since_ns=occupied_since,
        goal=plan.target,
        measured=measured,
        now_ns=now_ns,
        history=mem.history,
    )
    watched, gap = readiness.watch(
        mem.readiness,
        mem.ready_gap_c,
        since_ns=occupied_since,
        goal=plan.target,
        history=mem.history,
        u=sample.u,
        now_ns=now_ns,
        coasting=mem.coast_for_ns is not None and mem.coast_for_ns == sched.until_ns,
    )
    mem = mem.model_copy(update={"arrival": arrival, "lead_factor": factor, "readiness": watched, "ready_gap_c": gap})
    mem, plan, forecast = _optimum(zone, mem, sched, plan, model=model, conditions=conditions, rz=rz, now_ns=now_ns)
    mem, win = _window(cfg, state, mem, model, sample, target=plan.target)
    return outputs(
        zone, state, mem, plan, seen=seen, model=(model, forecast), win=win, conditions=conditions, rz=rz, now_ns=now_ns
    )


def _window(
    cfg: HeatingConfig,
    state: State,
    mem: ZoneMemory,
    model: zone_model.View,
    sample: zone_model.Sample,
    *,
    target: float | None,
) -> tuple[ZoneMemory, window.WindowState]:
    """Open-window detection: contacts, or the air falling below the model's prediction (rules.window)."""
    trace = mem.trace
    tm = mem.model.tm
    u = sample.u
    if u is None and model.now is not None and sample.measured is not None:
        # convectors regulating themselves hold the air: on average, the power that holds it
        u = thermal.hold_duty(model.params, sample.measured, model.now.to, sample.occ)
    if sample.measured is not None and u is not None and tm is not None:
        trace = window.add_trace(trace, (sample.now_ns, sample.measured, u, tm))
    elif sample.measured is None:
        trace = ()
    seen = None
    if model.now is not None and sample.measured is not None and model.settled(sample.now_ns):
        seen = window.Seen(trace, mem.window_stats, model.params, model.now.to, sample.occ, target)
    win, stats = window.detect(cfg.window, state.inputs, mem.window_open_since_ns, sample.now_ns, seen)
    since = win.since_ns if win.open and not win.contact else None
    return mem.model_copy(update={"trace": trace, "window_stats": stats, "window_open_since_ns": since}), win


def _scheduled(cfg: HeatingConfig, sched: schedule.ScheduleState) -> Plan:
    target: float | None
    if sched.occupied:
        target = cfg.occupancy_target(sched.setpoint_c, sched.activity)
    elif sched.setpoint_c is not None and sched.mode != "arret":
        target = cfg.occupancy_target(sched.setpoint_c)
    else:
        target = cfg.setpoints.of(sched.mode)
    return Plan(
        sched.mode,
        sched.occupied,
        sched.source,
        sched.label,
        sched.until_ns,
        target,
        setpoint=sched.setpoint_c is not None and sched.mode != "arret",
    )


def _presence(
    zone: ZoneSpec,
    state: State,
    mem: ZoneMemory,
    sched: schedule.ScheduleState,
    plan: Plan,
    *,
    conditions: dict[str, Notice],
    rz: Reasons,
    now_ns: int,
) -> tuple[ZoneMemory, Plan]:
    cfg = zone.heating
    if not sched.occupied or sched.since_ns is None:
        return mem, plan
    attended = mem.attended_ns == sched.since_ns or presence.seen(cfg, state.inputs, sched.since_ns)
    if attended and mem.attended_ns != sched.since_ns:
        mem = mem.model_copy(update={"attended_ns": sched.since_ns})
    if not presence.no_show(cfg, attended=attended, since_ns=sched.since_ns, now_ns=now_ns):
        return mem, plan
    minutes = round((now_ns - sched.since_ns) / MINUTE_NS)
    reason = rz("no_show", zone=zone.title, label=sched.label or None, minutes=minutes, since_ns=sched.since_ns)
    conditions[f"no_show:{zone.key}"] = Notice("no_show", zone.key, "info", reason)
    return mem, Plan("reduit", False, "no_show", sched.label, sched.until_ns, cfg.setpoints.reduit)


def _people_lead(
    zone: ZoneSpec,
    sched: schedule.ScheduleState,
    mem: ZoneMemory,
    plan: Plan,
    measured: float | None,
    *,
    conditions: dict[str, Notice],
    rz: Reasons,
    now_ns: int,
) -> tuple[ZoneMemory, Plan]:
    """Local heating of people: on a lead before an occupancy (rules.people), kept on once begun (the
    heaters warm the air a little, which must not shorten the lead and switch them off again); an
    alert, from the lead to the occupancy's end, while even their full effect leaves the seats under
    the comfort line."""
    cfg = zone.heating
    boost = cfg.people_boost_c
    if plan.occupied:
        _people_short(zone, measured, plan.target, plan.label, sched.since_ns, conditions=conditions, rz=rz)
        return mem, plan
    upcoming = sched.next_occupancy
    if upcoming is None:
        return mem, plan
    target = cfg.occupancy_target(upcoming.setpoint_c, upcoming.activity)
    lead = people.lead_min(
        air=measured, target=target, boost_c=boost, warm_min=cfg.people_warm_min, floor_min=cfg.people_lead_min
    )
    if mem.preheat_for_ns != upcoming.start_ns and now_ns < upcoming.start_ns - int(lead * MINUTE_NS):
        return mem, plan
    _people_short(zone, measured, target, upcoming.label, upcoming.start_ns, conditions=conditions, rz=rz)
    mem = mem.model_copy(update={"preheat_for_ns": upcoming.start_ns})
    return mem, Plan("confort", False, "preheat", upcoming.label, upcoming.start_ns, target)


def _people_short(
    zone: ZoneSpec,
    measured: float | None,
    target: float | None,
    label: str,
    start_ns: int | None,
    *,
    conditions: dict[str, Notice],
    rz: Reasons,
) -> None:
    """The ``people_short`` alert while the air plus the heaters' full effect is under the comfort line."""
    boost = zone.heating.people_boost_c
    if measured is None or target is None or people.shortfall(air=measured, target=target, boost_c=boost) is None:
        return
    reason = rz(
        "people_short",
        zone=zone.title,
        label=label or None,
        start_ns=start_ns,
        air=round(measured, 1),
        boost=round(boost, 1),
        felt=round(measured + boost, 1),
        target=target,
    )
    conditions[f"people_short:{zone.key}"] = Notice("people_short", zone.key, "warning", reason)


def _power_since_last_tick(cfg: HeatingConfig, state: State, measured: float | None) -> float | None:
    """The heater's power fraction over the interval just passed (relays keep their level between ticks)."""
    if cfg.pilot_wire is not None:
        plus = state.relays.get(cfg.pilot_wire.plus, RelayState(False))
        minus = state.relays.get(cfg.pilot_wire.minus, RelayState(False))
        order = pilot_wire.order_of(plus.on, minus.on)
        mode = pilot_wire.MODE_OF_ORDER[order]
        return zone_model.pilot_power(order, measured, cfg.setpoints.of(mode))
    relay = state.relays.get(cfg.outputs[0], RelayState(False))
    return 1.0 if relay.on else 0.0


def _optimum(
    zone: ZoneSpec,
    mem: ZoneMemory,
    sched: schedule.ScheduleState,
    plan: Plan,
    *,
    model: zone_model.View,
    conditions: dict[str, Notice],
    rz: Reasons,
    now_ns: int,
) -> tuple[ZoneMemory, Plan, Forecast]:
    """Optimum start, setback depth and optimum stop (rules.preheat) applied to the plan."""
    cfg = zone.heating
    upcoming = sched.next_occupancy
    forecast = Forecast()
    hold: float | None = None
    coast_for: int | None = None
    preheat_for: int | None = None
    if plan.occupied and plan.target is not None and model.now is not None and sched.until_ns is not None:
        hours_left = (sched.until_ns - now_ns) / HOUR_NS
        now = replace(model.now, occ=1.0)
        coasting = mem.coast_for_ns == sched.until_ns or (
            not model.virtual and preheat.coast(cfg, model.params, now, goal=plan.target, hours_left=hours_left)
        )
        if coasting:
            coast_for = sched.until_ns
            plan = replace(plan, coast=True)
    elif not plan.occupied and upcoming is not None and cfg.optimum_start.enabled and _RANK[plan.mode] > 0:
        goal = cfg.occupancy_target(upcoming.setpoint_c, upcoming.activity)
        hours_left = (upcoming.start_ns - now_ns) / HOUR_NS
        factor, gap = mem.lead_factor, mem.ready_gap_c
        start = preheat.start(cfg, model.params, model.now, goal=goal, hours_left=hours_left, factor=factor, gap=gap)
        forecast = Forecast(None, start.lead_h)
        if mem.preheat_for_ns == upcoming.start_ns or start.begin:
            preheat_for = upcoming.start_ns
            booked = upcoming.setpoint_c is not None
            plan = Plan("confort", False, "preheat", upcoming.label, upcoming.start_ns, goal, setpoint=booked)
            if start.late_h is not None:
                late = "never" if math.isinf(start.late_h) else round(start.late_h * 60)
                reason = rz(
                    "preheat_late",
                    zone=zone.title,
                    label=upcoming.label or None,
                    late_min=late,
                    lead_h=None if start.lead_h is None or math.isinf(start.lead_h) else round(start.lead_h, 1),
                    cap_h=round(cfg.optimum_start.max_preheat_h, 1),
                    start_ns=upcoming.start_ns,
                )
                conditions[f"preheat_late:{zone.key}"] = Notice("preheat_late", zone.key, "warning", reason)
        elif model.now is not None:
            next_h = preheat.next_start_h(
                cfg, model.params, model.now, goal=goal, hours_left=hours_left, factor=factor, gap=gap
            )
            forecast = Forecast(None if next_h is None else now_ns + int(next_h * HOUR_NS), start.lead_h)
            if plan.mode == "reduit" and plan.source == "unoccupied" and cfg.optimum_start.deep_setback:
                hold = preheat.setback(
                    cfg, model.params, model.now, goal=goal, hold_c=mem.setback_hold_c, factor=factor, gap=gap
                )
                if hold is None:
                    plan = replace(plan, mode="hors_gel", source="setback", target=cfg.setpoints.hors_gel)
                else:
                    plan = replace(plan, source="setback", target=hold)
    mem = mem.model_copy(update={"setback_hold_c": hold, "coast_for_ns": coast_for, "preheat_for_ns": preheat_for})
    return mem, plan, forecast
