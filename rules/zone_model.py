"""One zone's model in the engine's memory: its parameters, the structure observer, the virtual
thermometer and when to fit again.

Rules of this module: pure functions of (configuration, memory, this tick's inputs) returning the
new memory; no I/O, no clock.

Each tick (:func:`observe`):
1. the hourly log gets this tick's sample (rules.identify), with the heater's power fraction over
   the interval just passed;
2. the structure's temperature is advanced, driven by the measured air (an observer: errors in the
   parameters do not accumulate while the thermometer speaks);
3. while the thermometer is silent, the model's own air temperature stands in for it (the
   *virtual thermometer*), advanced with the heater's state and the outdoor temperature;
4. once enough new hours are logged (6 while the zone is new, then 24), the parameters are fitted
   again and the structure's estimate reset from the fit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rules import identify, thermal, window
from rules.heating_config import HeatingConfig
from rules.types import ModelMemory, ModelSummary

NS = 1_000_000_000
HOUR_NS = 3600 * NS
#: what outdoors is assumed to be when no outdoor thermometer speaks: a French winter's mean
ASSUMED_OUTDOOR_C = 5.0
#: the outdoor temperature the fail-safe holds hors-gel against when none is known (issue 10)
FAILSAFE_OUTDOOR_C = -10.0
#: a step of the observer never stands for more than this (a long gap: the state is re-learned)
MAX_STEP_H = 1.0
#: emitters' share of their heat that goes to the air
AIR_SHARE = {"convector": 0.9, "radiant": 0.5}
#: minutes emitters take to deliver their heat after a switch, when the configuration does not say
LAG_MIN = {"convector": 5.0, "radiant": 10.0}


def lag_h(cfg: HeatingConfig) -> float:
    """The heaters' own lag (h): how far ahead the thermostat switches."""
    lag = cfg.model.lag_min
    return (LAG_MIN[cfg.model.emitter] if lag is None else lag) / 60


#: a fit is believed only if the time constant it gives lies in this range (h)
PLAUSIBLE_TAU_H = (2.0, 500.0)


def prior(cfg: HeatingConfig) -> thermal.Params:
    """The zone's starting point: its archetype's figures (resolved by the loader), or a generic zone."""
    m = cfg.model
    f = AIR_SHARE[m.emitter]
    if m.prior is not None:
        h_ao, h_am, h_mo, c_m, c_a, g, h_occ, f = m.prior
        base = thermal.Params(h_ao=h_ao, h_am=h_am, h_mo=h_mo, c_m=c_m, c_a=c_a, g=g, f=f, h_occ=h_occ)
    else:
        base = thermal.generic(f=f)
    tau = m.tau_h if m.tau_h is not None else base.tau_h
    ua = base.ua
    if m.ua_kw_per_k is not None and m.heater_kw is not None:
        ua = m.ua_kw_per_k / m.heater_kw
    if tau == base.tau_h and ua == base.ua:
        return base
    scale = ua / base.ua
    return thermal.Params(
        h_ao=base.h_ao * scale,
        h_am=base.h_am * scale,
        h_mo=base.h_mo * scale,
        c_m=tau * base.mass_loss * scale,  # the time constant sets the structure's capacity
        c_a=base.c_a * scale,
        g=base.g,
        f=f,
        h_occ=base.h_occ * scale,
    )


def params(cfg: HeatingConfig, memory: ModelMemory) -> thermal.Params:
    """The parameters in force: the last believable fit, or the prior."""
    base = prior(cfg)
    if memory.params is None:
        return base
    h_ao, h_am, h_mo, c_m, c_a, g, h_occ = memory.params
    return thermal.Params(h_ao=h_ao, h_am=h_am, h_mo=h_mo, c_m=c_m, c_a=c_a, g=g, f=base.f, h_occ=h_occ)


@dataclass(frozen=True, slots=True)
class Sample:
    """What the engine knows of the zone this tick."""

    now_ns: int
    measured: float | None  # fresh mean air temperature
    last: tuple[int, float] | None  # the newest reading ever (time, value), for the virtual thermometer
    outdoor: float | None
    u: float | None  # the heater's power fraction since the last tick (None: unknown)
    occ: float  # occupancy 0..1
    fallback_outdoor: float  # what the model assumes outdoors when ``outdoor`` is None


def observe(cfg: HeatingConfig, memory: ModelMemory, x: Sample) -> ModelMemory:
    """The model's memory after this tick (see the module docstring)."""
    p = params(cfg, memory)
    to = x.outdoor if x.outdoor is not None else x.fallback_outdoor
    dt_h = 0.0 if memory.tm_ns is None else min(max(x.now_ns - memory.tm_ns, 0) / HOUR_NS, MAX_STEP_H)
    u = x.u if x.u is not None else 0.0
    if x.u is None and x.measured is not None:  # convectors regulating: the power that holds the air
        u = thermal.hold_duty(p, x.measured, to, x.occ)
    virtual: float | None = None
    since = memory.tm_since_ns
    if x.measured is not None:
        if memory.tm is None:  # first reading: the structure is taken at the air's temperature
            tm, since = x.measured, x.now_ns
        else:
            tm = thermal.mass_step(p, memory.tm, ta=x.measured, to=to, u=u, hours=dt_h)
            if memory.virtual is not None:  # back from a silence: the estimate ran open-loop, follow it again
                since = x.now_ns
        air = x.measured
    else:
        start = memory.virtual if memory.virtual is not None else (x.last[1] if x.last is not None else None)
        if start is None or memory.tm is None:  # never read: nothing to stand in with
            return memory
        if x.u is None:  # pilot wire: the convectors regulate themselves around their order
            u = 0.0
        now = thermal.step(p, thermal.Now(start, memory.tm, to, x.occ), u=u, hours=dt_h)
        air, tm, virtual = now.ta, now.tm, now.ta
    acc, rows = memory.acc, memory.rows
    if x.measured is not None and x.outdoor is not None and cfg.optimum_start.learn:
        acc, rows = identify.add_sample(acc, rows, now_ns=x.now_ns, ta=x.measured, to=x.outdoor, u=x.u, occ=x.occ)
    update = {"tm": tm, "tm_ns": x.now_ns, "tm_since_ns": since, "virtual": virtual, "acc": acc, "rows": rows}
    out = memory.model_copy(update=update)
    if _fit_due(out):
        out = _refit(cfg, out, air=air, to=to, u=u, now_ns=x.now_ns)
    return out


def _fit_due(memory: ModelMemory) -> bool:
    if len(memory.rows) < 24:
        return False
    last = memory.fitted_to_ns
    new = sum(1 for r in memory.rows if last is None or r[0] > last)
    return new >= (6 if memory.hours < 7 * 24 else 24)


def _refit(cfg: HeatingConfig, memory: ModelMemory, *, air: float, to: float, u: float, now_ns: int) -> ModelMemory:
    base = prior(cfg)
    result = identify.fit(base, memory.rows)
    last_row = memory.rows[-1][0]
    if result is None:
        return memory.model_copy(update={"fitted_to_ns": last_row})
    p = result.params
    believable = PLAUSIBLE_TAU_H[0] <= p.tau_h <= PLAUSIBLE_TAU_H[1] and math.isfinite(result.rmse)
    if not believable:
        return memory.model_copy(update={"fitted_to_ns": last_row})
    since_h = max(now_ns - (last_row + HOUR_NS), 0) / HOUR_NS
    tm = thermal.mass_step(p, result.tm_end, ta=air, to=to, u=u, hours=since_h)
    return memory.model_copy(
        update={
            "params": (p.h_ao, p.h_am, p.h_mo, p.c_m, p.c_a, p.g, p.h_occ),
            "rmse": round(result.rmse, 4),
            "hours": result.hours,
            "fitted_to_ns": last_row,
            "tm": tm,
        }
    )


def fallback_outdoor(cfg: HeatingConfig, memory: ModelMemory, *, silent: bool) -> float:
    """The outdoor temperature the model assumes when no thermometer gives it: for the fail-safe of a
    silent zone, the −10 °C night hors-gel must hold against (issue 10); otherwise the last day's
    logged mean, else a French winter's."""
    if silent and cfg.failsafe.mode == "model":
        return FAILSAFE_OUTDOOR_C
    recent = [r[2] for r in memory.rows[-24:]]
    return sum(recent) / len(recent) if recent else ASSUMED_OUTDOOR_C


class View:
    """The zone's model and its state this tick, as the planning steps and the outputs need them."""

    #: the structure's estimate is believed for fine predictions (windows) after this long
    SETTLED_H = 6.0

    def __init__(
        self,
        cfg: HeatingConfig,
        memory: ModelMemory,
        measured: float | None,
        outdoor: float | None,
        *,
        air_stats: tuple[float, float, float, float, float, int] | None = None,
    ) -> None:
        self.cfg = cfg
        self.memory = memory
        self.params = window.air_capacity(params(cfg, memory), air_stats)
        self.virtual = measured is None and memory.virtual is not None
        self.outdoor_known = outdoor is not None
        ta = measured if measured is not None else memory.virtual
        to = outdoor if outdoor is not None else fallback_outdoor(cfg, memory, silent=measured is None)
        self.now = thermal.Now(ta, memory.tm, to) if ta is not None and memory.tm is not None else None

    def settled(self, now_ns: int) -> bool:
        """Whether the structure's estimate has been followed long enough to be believed (its first
        value is the air's, which a setback can leave several degrees off; after a silent thermometer
        it ran on the model alone, and a structure estimated a degree too warm makes every heater stop
        look like an open window)."""
        since = self.memory.tm_since_ns
        return since is not None and now_ns - since >= self.SETTLED_H * HOUR_NS

    def summary(self, *, next_start_ns: int | None, lead_h: float | None) -> ModelSummary:
        """What the admin page shows of the model."""
        p, m, mem = self.params, self.cfg.model, self.memory
        return ModelSummary(
            tau_h=round(p.tau_h, 1),
            ua_per_kw=round(p.ua, 5),
            ua_kw_per_k=round(p.ua * m.heater_kw, 3) if m.heater_kw is not None else None,
            learned=mem.params is not None,
            hours=mem.hours,
            rmse=mem.rmse,
            structure_c=round(mem.tm, 2) if mem.tm is not None else None,
            estimated_c=round(mem.virtual, 2) if self.virtual and mem.virtual is not None else None,
            next_start_ns=next_start_ns,
            lead_h=None if lead_h is None or math.isinf(lead_h) else round(lead_h, 2),
        )


def pilot_power(order: str, measured: float | None, setpoint: float | None, band: float = 2.0) -> float | None:
    """Convectors' power fraction when it can be told from their order and the room: full when the room
    is well below the order's setpoint, none above it or on arrêt; ``None`` while they regulate. The
    band is wide (2 °C) because the convectors' own eco and hors-gel setpoints are theirs, not ours
    (eco is often confort − 3.5 °C, hors-gel 7 °C)."""
    if order == "arret":
        return 0.0
    if measured is None or setpoint is None:
        return None
    if measured < setpoint - band:
        return 1.0
    if measured > setpoint + band:
        return 0.0
    return None
