"""The two baselines the rules are judged against, each zone on its own (no ``decide``).

Rules of this module:
- **programmer**: a good programmable thermostat as found on a mairie's wall. The same schedules,
  exceptions, holidays, bookings and gap modes as the rules' configuration (``rules.schedule``: réduit
  for gaps under 48 h, hors-gel beyond), the same hysteresis, minimum on/off, maximum run and rise
  limit (``rules.heating.relay_decision``), confort started a fixed lead before every scheduled
  occupied period, at that occupancy's own target. No learning, no window or presence detection. Its
  built-in thermometer reads the air with the zone's sensor noise and never fails (injected outages
  affect only the rules' sensors). Pilot-wire zones get the mode's order (a booking at a temperature:
  ``setpoints.mode_for``), the convectors regulate themselves;
- **always-confort**: the same thermostat held at the occupancy target all the time (confort outside
  occupancy); pilot wire at the confort order;
- the programmer's lead per zone is the shortest of 0.5, 1, 1.5 … 12 h (… 36 h when the zone's time
  constant exceeds 48 h) with every reported occurrence (people present) on time; it is found by
  bisection (lateness is taken to be monotonic in the lead: a longer lead starts the same warm-up
  earlier). If even the longest lead is late somewhere, the zone is listed in ``leads_not_found`` and
  the programmer gets the shortest lead that is as comfortable as the longest — late no more often,
  and no more than 0.1 h longer below target (the longest lead's comfort at the least energy: a 36 h
  lead that buys no comfort would only burn energy and flatter the rules, which a plain reading of
  "the longest" would do; a short lead that leaves Monday colder than the longest would flatter them
  on comfort).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.sim.emitters import PilotWireConvector, RelayHeater
from drivers.sim.zone_model import ZoneModel
from gateway.simulation.metrics import ZoneMetrics
from gateway.simulation.world import HOUR_NS, World, ZoneWorld
from rules import heating as thermostat
from rules import pilot_wire, window
from rules.config import Mode
from rules.types import RelayState

#: candidate leads: 0.5 h steps up to 12 h, or 36 h for zones slower than 48 h
LEAD_STEP_H = 0.5
LEAD_MAX_H = 12.0
LEAD_MAX_SLOW_H = 36.0
SLOW_ZONE_TAU_H = 48.0
RISE_WINDOW_MIN = 15.0  # the rise limit's slope span, as rules.engine computes it
COMFORT_TOLERANCE_H = 0.1  # "as comfortable as the longest lead" when no lead is on time everywhere


@dataclass(slots=True)
class BaselineRun:
    """One baseline's result for one zone."""

    metrics: ZoneMetrics
    lead_h: float | None = None


def heater_of(zw: ZoneWorld) -> RelayHeater | PilotWireConvector:
    """A fresh heater for the zone, as its heating config wires it."""
    heating = zw.spec.heating
    power = zw.params.heater_kw
    if heating.pilot_wire is not None:
        return PilotWireConvector(power, heating.setpoints.confort, zw.convector_eco_c, zw.convector_hors_gel_c)
    return RelayHeater(power)


def _setting(zw: ZoneWorld, i: int, now: int, lead_ns: int | None) -> tuple[float | None, Mode, bool]:
    """(target, mode, by a booking's own setpoint) of the programmer (``lead_ns``) or always-confort."""
    occ_k = zw.occurrence[i]
    if occ_k >= 0:
        return zw.occurrences[occ_k].target_c, zw.mode[i], zw.setpoint_booking[i]
    confort = zw.spec.heating.setpoints.confort
    if lead_ns is None:
        return confort, "confort", False
    nxt = zw.next_occurrence[i]
    if nxt >= 0 and zw.occurrences[nxt].start_ns - now <= lead_ns:
        occ = zw.occurrences[nxt]
        return occ.target_c, "confort", occ.target_c != confort
    return zw.target[i], zw.mode[i], zw.setpoint_booking[i]


@dataclass(slots=True)
class _Thermostat:
    """A plain thermostat (relay zones) or a pilot-wire programmer: the power it lets through."""

    zw: ZoneWorld
    heater: RelayHeater | PilotWireConvector
    relay: RelayState = field(default_factory=lambda: RelayState(False, None))
    levels: tuple[bool, bool] | None = None
    history: window.History = ()
    switches: int = 0

    def power(self, i: int, now: int, setting: tuple[float | None, Mode, bool], model: ZoneModel) -> float:
        target, mode, by_setpoint = setting
        cfg = self.zw.spec.heating
        if isinstance(self.heater, PilotWireConvector):
            asked: Mode = cfg.setpoints.mode_for(target) if by_setpoint and target is not None else mode
            order = pilot_wire.ORDER_OF_MODE[asked]
            levels = pilot_wire.relays_for(order)
            if self.levels is not None:
                self.switches += (levels[0] != self.levels[0]) + (levels[1] != self.levels[1])
            self.levels = levels
            return self.heater.power(order, model.air_c)
        measured = model.sensor_reading(self.zw.noise[""][i])  # its built-in thermometer
        if cfg.kind == "people":  # pew heaters: on through the occupancy (and the lead), like the rules
            inputs = thermostat.Inputs(None, None, None, False, None, self.relay, now)
            wanted = thermostat.Outcome(mode == "confort" and target is not None, "people")
            return self._switch(thermostat.limits(cfg, wanted, inputs).on, now)
        rise = None
        if cfg.max_rise_c_per_h is not None:
            self.history = window.remember(self.history, now, measured)
            slope = window.slope_c_per_min(self.history, RISE_WINDOW_MIN)
            rise = slope * 60 if slope is not None else None
        outcome = thermostat.relay_decision(
            cfg,
            thermostat.Inputs(
                target_c=target,
                measured_c=measured,
                stale_min=0.0,
                window_open=False,
                rise_c_per_h=rise,
                relay=self.relay,
                now_ns=now,
            ),
        )
        return self._switch(outcome.on, now)

    def _switch(self, on: bool, now: int) -> float:
        if on != self.relay.on:
            self.relay = RelayState(on, now)
            self.switches += 1
        assert isinstance(self.heater, RelayHeater)  # pilot wire is handled above
        return self.heater.power(self.relay.on)


def run_zone(world: World, zw: ZoneWorld, lead_h: float | None) -> ZoneMetrics:
    """Run one zone with the programmer (``lead_h``) or always-confort (``lead_h is None``)."""
    clock = world.clock
    model = ZoneModel(zw.params)
    control = _Thermostat(zw, heater_of(zw))
    metrics = ZoneMetrics()
    dt_h = clock.dt_s / 3600
    lead_ns = None if lead_h is None else int(lead_h * HOUR_NS)
    report_i = clock.report_i
    for i in range(clock.n):
        now = clock.time(i)
        if i == report_i:
            control.switches = 0
        if i >= report_i:
            metrics.tick(zw, i, model, dt_h)
        power = control.power(i, now, _setting(zw, i, now, lead_ns), model)
        world.step(model, zw, i, heater_kw=power)
    metrics.switches = control.switches
    metrics.finish(model)
    return metrics


def candidate_leads(zw: ZoneWorld) -> list[float]:
    """0.5, 1, 1.5 … 12 h, or … 36 h for a zone whose time constant exceeds 48 h."""
    top = LEAD_MAX_SLOW_H if zw.params.time_constant_h > SLOW_ZONE_TAU_H else LEAD_MAX_H
    return [LEAD_STEP_H * k for k in range(1, int(top / LEAD_STEP_H) + 1)]


@dataclass(slots=True)
class LeadSearch:
    """The programmer's tuned lead for one zone and what it took to find it."""

    lead_h: float
    found: bool  # False: even the longest lead was late somewhere (see the module header)
    runs: int
    metrics: ZoneMetrics


def best_lead(world: World, zw: ZoneWorld) -> LeadSearch:
    """The shortest candidate lead with every reported occurrence on time, or as few late as the
    longest lead (see the module header)."""
    leads = candidate_leads(zw)
    results: dict[int, ZoneMetrics] = {}

    def run(k: int) -> None:
        if k not in results:
            results[k] = run_zone(world, zw, leads[k])

    top = len(leads) - 1
    run(top)
    best = results[top]

    def as_good(k: int) -> bool:
        run(k)
        if best.late == 0:
            return results[k].late == 0
        return results[k].late <= best.late and results[k].below_h <= best.below_h + COMFORT_TOLERANCE_H

    lo, hi = 0, top
    while lo < hi:
        mid = (lo + hi) // 2
        if as_good(mid):
            hi = mid
        else:
            lo = mid + 1
    return LeadSearch(leads[lo], best.late == 0, len(results), results[lo])
