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

from datetime import datetime
from zoneinfo import ZoneInfo

from rules import leak as leaks
from rules import lighting, schedule
from rules.config import Site
from rules.types import (
    Action,
    CircuitStatus,
    Decision,
    LeakMemory,
    Memory,
    Notice,
    ParamValue,
    Reason,
    State,
    ZoneMemory,
    ZoneStatus,
)
from rules.zone import TEMPERATURE_FIELD, decide_zone, zone_temperature

__all__ = ["TEMPERATURE_FIELD", "decide", "zone_temperature"]

NS = 1_000_000_000
MINUTE_NS = 60 * NS


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
        z = decide_zone(
            zone, state, safe_mode=site.clock_safe_heating, tz=tz, now_ns=now_ns, rz=rz, holidays=site.holidays
        )
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
