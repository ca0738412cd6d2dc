"""Evaluate a whole site: ``decide(site, state, now) -> Decision``.

Rules of this module (and of all of rules/):
- pure: no I/O, no clock reads, no threads, no logging; ``now`` is an argument; the time-zone
  database and astral's formulas are read-only data;
- level-triggered: the desired state of every output follows from (site, state, now) every tick,
  so after a restart, a power cut or a relay flipped by hand the right state follows;
- every action carries a :class:`~rules.types.Reason`; events (notices) are raised when a
  condition starts or ends, remembered in ``Memory.alarms`` so a restart does not repeat them;
- the returned memory is the only thing that changes between ticks; the shell persists it.

Example::

    decision = decide(site, State(readings=..., relays=..., memory=memory), datetime.now(UTC))
    for action in decision.actions: relays[action.output].set(action.on)   # the shell's job
    memory = decision.memory
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from rules import heating as thermostat
from rules import leak as leaks
from rules import lighting, optimum_start, pilot_wire, schedule, window
from rules.config import HeatingConfig, Mode, Site, ZoneSpec
from rules.holidays import Calendar
from rules.types import (
    Action,
    CircuitStatus,
    Decision,
    LeakMemory,
    Memory,
    Notice,
    ParamValue,
    Reason,
    RelayState,
    SensorValue,
    State,
    ZoneMemory,
    ZoneStatus,
)

NS = 1_000_000_000
MINUTE_NS = 60 * NS
TEMPERATURE_FIELD = "temperature_c"


def decide(site: Site, state: State, now: datetime) -> Decision:
    """The desired state of every output at ``now`` (a time-zone aware datetime)."""
    if now.tzinfo is None:
        raise ValueError("now must be time-zone aware (UTC)")
    now_ns = schedule.to_ns(now)
    tz = ZoneInfo(site.timezone)
    rz = _Reasons(tz, now_ns)
    actions: list[Action] = []
    notices: dict[str, Notice] = {}  # active conditions "kind:subject" -> notice
    zone_status: list[ZoneStatus] = []
    zone_memory: dict[str, ZoneMemory] = {}
    for zone in site.zones:
        z = _zone(zone, state, safe_mode=site.clock_safe_heating, tz=tz, now_ns=now_ns, rz=rz, holidays=site.holidays)
        actions.extend(z.actions)
        zone_status.append(z.status)
        zone_memory[zone.key] = z.memory
        notices.update(z.conditions)
    circuits: list[CircuitStatus] = []
    for cid, circuit in sorted(site.lighting.circuits.items()):
        if state.clock_trusted:
            status = _circuit(site, cid, state, tz=tz, now_ns=now_ns, rz=rz)
        else:
            status = _circuit_untrusted(site, cid, state, rz=rz)
        circuits.append(status)
        actions.append(Action(circuit.relay, status.on, status.reason, f"light:{cid}"))
    leak_memory: dict[str, LeakMemory] = {}
    for mid in sorted(site.leaks.meters):
        leak_memory[mid] = _leak(site, mid, state, actions, notices, tz=tz, now_ns=now_ns, rz=rz)
    events, alarms = _edges(state.memory.alarms, notices)
    memory = Memory(zones=zone_memory, leaks=leak_memory, alarms=alarms)
    return Decision(
        now_ns,
        tuple(sorted(actions, key=lambda a: a.output)),
        tuple(zone_status),
        tuple(circuits),
        events,
        memory,
    )


def _leak(
    site: Site,
    mid: str,
    state: State,
    actions: list[Action],
    notices: dict[str, Notice],
    *,
    tz: ZoneInfo,
    now_ns: int,
    rz: _Reasons,
) -> LeakMemory:
    """Run one meter's leak tests; add its valve action and alarm notice; return its memory."""
    meter = site.leaks.meters[mid]
    if not state.clock_trusted:
        # the night window and the hourly counts are wall-clock hours: set aside, keep what was
        # learned, and hold an alarm already raised (its valve stays as it was)
        memory = state.memory.leaks.get(mid, LeakMemory())
        latched = f"leak:{mid}" in state.memory.alarms and mid not in state.leak_acks
        if latched:
            notices[f"leak:{mid}"] = Notice("leak", mid, "alarm", rz("leak_latched", meter=mid), (("meter", mid),))
        if meter.valve_relay:
            close = latched and meter.close_valve
            code = "valve_closed" if close else "valve_open"
            actions.append(Action(meter.valve_relay, close, rz(code, meter=mid), f"valve:{mid}"))
        return memory
    check = leaks.update(
        meter,
        state.memory.leaks.get(mid, LeakMemory()),
        state.readings.get((mid, meter.field)),
        tz=tz,
        night=site.leaks.night,
        ack_ns=state.leak_acks.get(mid),
        now_ns=now_ns,
    )
    if check.alarm:
        evidence: dict[str, ParamValue] = {"meter": mid}
        if check.kind:
            evidence.update(nights=check.nights, hours=check.hours)
            if check.min_lph is not None:
                evidence["flow_lph"] = round(check.min_lph, 1)
        code = f"leak_{check.kind}" if check.kind else "leak_latched"
        notices[f"leak:{mid}"] = Notice("leak", mid, "alarm", rz(code, **evidence), tuple(sorted(evidence.items())))
    if meter.valve_relay:
        close = check.alarm and meter.close_valve
        actions.append(
            Action(
                meter.valve_relay,
                close,
                rz("valve_closed" if close else "valve_open", meter=mid),
                f"valve:{mid}",
            )
        )
    return check.memory


class _Reasons:
    """Builds reasons with times turned into local wall-clock words ("23:00", and the day if not today)."""

    def __init__(self, tz: ZoneInfo, now_ns: int) -> None:
        self.tz = tz
        self.today = schedule.from_ns(now_ns, tz).date()

    def __call__(self, code: str, **params: ParamValue | None) -> Reason:
        out: dict[str, ParamValue | None] = {}
        for key, value in params.items():
            if key.endswith("_ns") and isinstance(value, int) and not isinstance(value, bool):
                local = schedule.from_ns(value, self.tz)
                name = key[:-3]
                out[name] = f"{local.hour:02d}:{local.minute:02d}"
                days = (local.date() - self.today).days
                out[f"{name}_day"] = None if days == 0 else ("+1" if days == 1 else str(local.weekday()))
            else:
                out[key] = value
        return Reason.of(code, **out)


# ---- heating ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ZoneResult:
    actions: tuple[Action, ...]
    status: ZoneStatus
    memory: ZoneMemory
    conditions: dict[str, Notice]


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


def _outdoor(zone: ZoneSpec, readings: Mapping[tuple[str, str], SensorValue], now_ns: int) -> float | None:
    if zone.heating.outdoor_sensor is None:
        return None
    value = readings.get((zone.heating.outdoor_sensor, TEMPERATURE_FIELD))
    if value is None or not math.isfinite(value.value) or now_ns - value.time_ns > 3 * 3600 * NS:
        return None
    return value.value


@dataclass(frozen=True, slots=True)
class _Plan:
    mode: Mode
    occupied: bool
    source: str
    label: str
    until_ns: int | None
    preheat_for_ns: int | None
    setpoint_c: float | None = None


def _plan(
    zone: ZoneSpec,
    state: State,
    mem: ZoneMemory,
    measured: float | None,
    outdoor: float | None,
    *,
    safe_mode: Mode,
    tz: ZoneInfo,
    now_ns: int,
    holidays: Calendar,
) -> _Plan:
    """The zone's mode: the schedule, then optimum start (a preheat, once begun, holds until occupancy).

    With an untrusted clock: the site's safe mode, whatever the schedule and the bookings say."""
    if not state.clock_trusted:
        return _Plan(safe_mode, False, "clock", "", None, None)
    cfg = zone.heating
    sched = schedule.evaluate(cfg, tz, zone.key, state.bookings, now_ns, holidays=holidays)
    plan = _Plan(sched.mode, sched.occupied, sched.source, sched.label, sched.until_ns, None, sched.setpoint_c)
    upcoming = sched.next_occupancy
    if sched.occupied or upcoming is None or not cfg.optimum_start.enabled:
        return plan
    latched = mem.preheat_for_ns == upcoming.start_ns
    if measured is not None and not latched:
        rate = optimum_start.rate_for(cfg, mem, outdoor)
        goal = cfg.setpoints.confort if upcoming.setpoint_c is None else upcoming.setpoint_c
        lead = optimum_start.lead_ns(cfg, goal, measured, rate)
        latched = lead > 0 and now_ns >= upcoming.start_ns - lead
    if not latched or _RANK[plan.mode] <= _RANK["confort"]:
        return plan
    # preheat towards the coming occupancy's own target (a booking at a setpoint: that temperature)
    return _Plan("confort", False, "preheat", upcoming.label, upcoming.start_ns, upcoming.start_ns, upcoming.setpoint_c)


_RANK: dict[Mode, int] = {"confort": 0, "reduit": 1, "hors_gel": 2, "arret": 3}


def _zone_notices(
    zone: ZoneSpec, win: window.WindowState, measured: float | None, age_min: float | None, rz: _Reasons
) -> dict[str, Notice]:
    cfg = zone.heating
    conditions: dict[str, Notice] = {}
    if win.open:
        slope = round(win.slope, 3) if win.slope is not None else None
        reason = rz("window_open", zone=zone.title, contact=win.contact, until_ns=win.until_ns, slope=slope)
        conditions[f"window_open:{zone.key}"] = Notice("window_open", zone.key, "info", reason)
    if measured is None and cfg.sensors:
        minutes = round(age_min) if age_min is not None else None
        safe = cfg.failsafe.mode if cfg.pilot_wire is None else "pilot"
        reason = rz("sensor_stale", zone=zone.title, minutes=minutes, safe=safe)
        evidence = (("sensors", ",".join(cfg.sensors)),)
        conditions[f"sensor_stale:{zone.key}"] = Notice("sensor_stale", zone.key, "warning", reason, evidence)
    return conditions


def _target(cfg: HeatingConfig, plan: _Plan) -> float | None:
    """The mode's setpoint, or a booking's own temperature kept within the zone's bounds."""
    if plan.setpoint_c is None or plan.mode == "arret":
        return cfg.setpoints.of(plan.mode)
    low, high = cfg.setpoint_bounds()
    return min(high, max(low, plan.setpoint_c))


def _zone(
    zone: ZoneSpec, state: State, *, safe_mode: Mode, tz: ZoneInfo, now_ns: int, rz: _Reasons, holidays: Calendar
) -> _ZoneResult:
    cfg = zone.heating
    mem = state.memory.zones.get(zone.key, ZoneMemory())
    measured, measured_ns, age_min = zone_temperature(zone, state.readings, now_ns)
    outdoor = _outdoor(zone, state.readings, now_ns)
    if measured is not None and measured_ns is not None:
        mem = mem.model_copy(update={"history": window.remember(mem.history, measured_ns, measured)})
    plan = _plan(zone, state, mem, measured, outdoor, safe_mode=safe_mode, tz=tz, now_ns=now_ns, holidays=holidays)
    target = _target(cfg, plan)
    win = window.detect(cfg.window, mem.history, state.inputs, mem.window_open_since_ns, now_ns)
    mem = mem.model_copy(
        update={
            "preheat_for_ns": plan.preheat_for_ns,
            "window_open_since_ns": win.since_ns if win.open and not win.contact else None,
        }
    )
    conditions = _zone_notices(zone, win, measured, age_min, rz)
    common: dict[str, ParamValue | None] = {
        "zone": zone.title,
        "mode": plan.mode,
        "target": target,
        "measured": round(measured, 1) if measured is not None else None,
        "source": plan.source,
        "label": plan.label or None,
        "until_ns": plan.until_ns,
        "setpoint": True if plan.setpoint_c is not None and target is not None else None,
    }
    subject = f"zone:{zone.key}"
    actions: tuple[Action, ...]
    if cfg.pilot_wire is not None:
        asked: Mode = cfg.setpoints.mode_for(target) if common["setpoint"] and target is not None else plan.mode
        order_mode: Mode = "hors_gel" if win.open and asked in ("confort", "reduit") else asked
        order = pilot_wire.ORDER_OF_MODE[order_mode]
        plus, minus = pilot_wire.relays_for(order)
        code = "pilot_window" if order_mode != asked else "pilot_order"
        reason = rz(code, order=order, **common)
        actions = (
            Action(cfg.pilot_wire.plus, plus, reason, subject),
            Action(cfg.pilot_wire.minus, minus, reason, subject),
        )
        heating_now = (
            order in ("confort", "eco")
            and measured is not None
            and target is not None
            and measured < target - cfg.cold_tolerance
        )
        on = order != "arret"
    else:
        relay = state.relays.get(cfg.outputs[0], RelayState(False, None))
        rise = window.slope_c_per_min(mem.history, 15.0) if cfg.max_rise_c_per_h is not None else None
        outcome = thermostat.relay_decision(
            cfg,
            thermostat.Inputs(
                target_c=target,
                measured_c=measured,
                stale_min=age_min,
                window_open=win.open,
                rise_c_per_h=rise * 60 if rise is not None else None,
                relay=relay,
                now_ns=now_ns,
            ),
        )
        max_on_since = _max_on_since(
            cfg, mem.max_on_since_ns, code=outcome.code, relay=relay, measured_ns=measured_ns, now_ns=now_ns
        )
        mem = mem.model_copy(update={"max_on_since_ns": max_on_since})
        if max_on_since is not None:
            hours = round(cfg.max_on_h, 1)
            notice_reason = rz("heat_max_on", zone=zone.title, hours=hours, since_ns=max_on_since)
            conditions[f"heater_max_on:{zone.key}"] = Notice("heater_max_on", zone.key, "warning", notice_reason)
        reason = rz(outcome.code, **common, **dict(outcome.params))
        actions = (Action(cfg.outputs[0], outcome.on, reason, subject),)
        heating_now, on = relay.on, outcome.on
    if state.clock_trusted:  # a warm-up timed across a clock step would teach a wrong rate
        mem = optimum_start.learn(
            cfg, mem, heating=heating_now, measured_c=measured, target_c=target, outdoor_c=outdoor, now_ns=now_ns
        )
    status = ZoneStatus(
        zone=zone.key,
        mode=plan.mode,
        target_c=target,
        measured_c=measured,
        heating=on,
        occupied=plan.occupied,
        reason=reason,
        next_change_ns=plan.until_ns,
    )
    return _ZoneResult(actions, status, mem, conditions)


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


# ---- lighting ----------------------------------------------------------------------------------------------


def _circuit(site: Site, cid: str, state: State, *, tz: ZoneInfo, now_ns: int, rz: _Reasons) -> CircuitStatus:
    circuit = site.lighting.circuits[cid]
    local = schedule.from_ns(now_ns, tz)
    dark, sun = lighting.is_dark(
        site.latitude,
        site.longitude,
        site.timezone,
        now_ns=now_ns,
        today=local.date(),
        sunset_offset_min=circuit.sunset_offset_min,
        sunrise_offset_min=circuit.sunrise_offset_min,
    )
    occupancy: tuple[bool, int | None] | None = None
    if circuit.occupancy:
        occupied, last_end = False, None
        for ref in circuit.occupancy:
            zone = site.zone(ref)
            if zone is None:
                continue
            sched = schedule.evaluate(zone.heating, tz, ref, state.bookings, now_ns, holidays=site.holidays)
            occupied = occupied or sched.occupied
            end = schedule.last_occupied_end(zone.heating, tz, ref, state.bookings, now_ns, holidays=site.holidays)
            if end is not None and (last_end is None or end > last_end):
                last_end = end
        occupancy = (occupied, last_end)
    outcome = lighting.circuit_decision(
        circuit,
        circuit_id=cid,
        cut=site.lighting.cut_of(circuit),
        dark=dark,
        minute_of_day=local.hour * 60 + local.minute,
        inputs=state.inputs,
        overrides=state.light_overrides,
        occupancy=occupancy,
        now_ns=now_ns,
    )
    reason = rz(
        outcome.code,
        circuit=circuit.name or cid,
        sunset_ns=sun.set_ns,
        sunrise_ns=sun.rise_ns,
        **dict(outcome.params),
    )
    return CircuitStatus(cid, outcome.on, reason)


def _circuit_untrusted(site: Site, cid: str, state: State, *, rz: _Reasons) -> CircuitStatus:
    """A circuit while the clock is not trusted: its twilight switch if it has one (and the site
    says "sensor"), otherwise off; sunset, night cut and overrides are wall-clock times, set aside."""
    circuit = site.lighting.circuits[cid]
    name = circuit.name or cid
    dusk = state.inputs.get(circuit.dusk_input) if circuit.dusk_input else None
    if site.clock_safe_lighting == "sensor" and dusk is not None:
        code = "light_clock_dusk_on" if dusk.active else "light_clock_dusk_off"
        return CircuitStatus(cid, dusk.active, rz(code, circuit=name, input=circuit.dusk_input))
    return CircuitStatus(cid, False, rz("light_clock_off", circuit=name))


# ---- events ----------------------------------------------------------------------------------------------


def _edges(previous: tuple[str, ...], active: dict[str, Notice]) -> tuple[tuple[Notice, ...], tuple[str, ...]]:
    """Notices for conditions that started, and "…_end" notices for those that ended."""
    before = set(previous)
    events = [active[key] for key in sorted(active) if key not in before]
    for key in sorted(before - set(active)):
        kind, _, subject = key.partition(":")
        events.append(Notice(f"{kind}_end", subject, "info", Reason.of(f"{kind}_end", subject=subject)))
    return tuple(events), tuple(sorted(active))
