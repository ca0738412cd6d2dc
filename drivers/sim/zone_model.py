"""Two-node grey-box model of a heated zone: the air and the structure it exchanges with.

Rules of this module: plain deterministic physics, no clock, no I/O; time is stepped by the caller.

Network (ISO 13790:2008 §7 "5R1C", the massless surface node eliminated exactly by a star–mesh
transform, see :mod:`drivers.sim.zone_params`)::

    outside ──h_ao── AIR (c_air) ──h_am── MASS (c_mass) ──h_mo── outside

    c_air dTa/dt = q_air  + h_ao (To − Ta) + h_am (Tm − Ta)
    c_mass dTm/dt = q_mass + h_mo (To − Tm) + h_am (Ta − Tm)

Units: kWh/K, kW/K, kW, °C, hours inside (the caller passes seconds). Heat that enters as radiation
(radiant part of an emitter, occupants' radiant half, sunshine through glazing) is split between the
air, the mass and a part lost through the glazing by the zone's fixed fractions.

Integration: the inputs are held constant over a step and the linear 2×2 system is solved in closed
form, ``x(t) = x_eq + exp(A t)(x0 − x_eq)``, so any step length is exact and stable. The transition
matrices are cached per (step, air-to-outside conductance): a window opening or ventilation rising
with occupancy only changes ``h_ao``. Losses are integrated in closed form too
(``∫x dt = x_eq t + A⁻¹(exp(A t) − I)(x0 − x_eq)``), so ``energy in = stored + lost`` holds to rounding.

One-node shorthand: ``c_mass == 0`` is the old first-order model ``C dT/dt = P − UA (T − To)``.

Emitter inertia: an emitter's heat output follows its electrical input with the time constant
``emitter.lag_min`` (its element and casing warm up and cool down); over a step the mean output
enters the room and the heat held by the emitter (``lag × output``) counts as stored.

Thermometers: the air as a sensor in its case sees it, a first-order lag of ``sensor_lag_min``
towards the step's mean air temperature (:attr:`ZoneModel.sensed_c`).

Local heating of people (pew heaters): a "felt" temperature = air + a boost that tends to
``boost_c × P / P_max`` (P the emitter's output) with the time constant ``warm_min``; all its power
still enters the room.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from drivers.sim.zone_params import ZoneParams

#: cached transition matrices per model (a few ventilation/window states × one tick length)
_CACHE_MAX = 64


@dataclass(frozen=True, slots=True)
class _Step:
    """exp(A t) (e), A⁻¹ (ai) and A⁻¹(exp(A t) − I) (m) for one step length and h_ao."""

    e: tuple[float, float, float, float]
    ai: tuple[float, float, float, float]
    m: tuple[float, float, float, float]


def _expm2(a11: float, a12: float, a21: float, a22: float, t: float) -> tuple[float, float, float, float]:
    """exp(A t) of a 2×2 matrix with real eigenvalues (A = C⁻¹·(−K), K symmetric positive definite)."""
    tr, det = a11 + a22, a11 * a22 - a12 * a21
    disc = max(0.0, tr * tr / 4 - det)
    root = math.sqrt(disc)
    l1, l2 = tr / 2 + root, tr / 2 - root
    if root * t > 1e-9:
        e1, e2 = math.exp(l1 * t), math.exp(l2 * t)
        k1 = (e1 - e2) / (l1 - l2)  # coefficient of A
        k0 = (l1 * e2 - l2 * e1) / (l1 - l2)  # coefficient of I
    else:  # (near) equal eigenvalues: exp(λt)(I + (A − λI)t)
        lam = tr / 2
        el = math.exp(lam * t)
        k1, k0 = el * t, el * (1 - lam * t)
    return (k0 + k1 * a11, k1 * a12, k1 * a21, k0 + k1 * a22)


@dataclass(slots=True)
class ZoneModel:
    """The air and mass temperatures of one zone, stepped by the caller.

    Example::

        model = ZoneModel(zone_params("mairie-pierre", 120.0))
        model.step(60, heater_kw=12.0, outdoor_c=3.0)      # one minute at full power
        model.air_c, model.mass_c, model.energy_kwh
    """

    params: ZoneParams
    air_c: float = math.nan
    mass_c: float = math.nan
    boost_c: float = 0.0  # local heating: felt − air
    output_kw: float = 0.0  # the emitter's heat output now (lags its electrical input)
    sensed_c: float = math.nan  # what a thermometer in its case reads (lags the air)
    energy_kwh: float = 0.0  # heater energy (electricity) since creation
    gains_kwh: float = 0.0  # occupants, internal and solar gains that entered
    loss_kwh: float = 0.0  # heat lost to outside
    _cache: dict[tuple[float, float], _Step] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if math.isnan(self.air_c):
            self.air_c = self.params.initial_c
        if math.isnan(self.mass_c):
            self.mass_c = self.air_c
        if math.isnan(self.sensed_c):
            self.sensed_c = self.air_c

    # ---- what sensors and people see -------------------------------------------------------------
    @property
    def temperature_c(self) -> float:
        """The air temperature (what a thermometer at 1.5 m in the room centre reads)."""
        return self.air_c

    @temperature_c.setter
    def temperature_c(self, value: float) -> None:
        """Force the whole room (air, structure and its thermometers) to ``value`` (tests, demo)."""
        self.air_c = self.mass_c = self.sensed_c = value

    @property
    def felt_c(self) -> float:
        """What the occupants feel: the air, plus the boost of local heating (pew heaters)."""
        return self.air_c + self.boost_c

    @property
    def comfort_c(self) -> float:
        """The temperature comfort is judged on: felt for zones heated only locally, else the air."""
        return self.felt_c if self.params.emitter.kind == "local" else self.air_c

    @property
    def stored_kwh(self) -> float:
        """Heat stored above 0 °C in air and structure, plus the heat held by the emitter (kWh)."""
        p = self.params
        held = p.emitter.lag_min / 60 * self.output_kw
        return p.c_air_kwh_per_k * self.air_c + p.c_mass_kwh_per_k * self.mass_c + held

    # ---- stepping ----------------------------------------------------------------------------------
    def step(
        self,
        dt_s: float,
        *,
        heater_kw: float,
        outdoor_c: float,
        gains_air_kw: float = 0.0,
        gains_rad_kw: float = 0.0,
        extra_h_ao: float = 0.0,
    ) -> None:
        """Advance ``dt_s`` seconds with constant inputs.

        ``heater_kw`` is split by the emitter's convective fraction; ``gains_air_kw`` enter the air
        (convective gains), ``gains_rad_kw`` are radiant (sunshine, occupants' radiant half);
        ``extra_h_ao`` (kW/K) adds to the air-to-outside conductance (ventilation, open windows).
        """
        if dt_s <= 0:
            return
        p = self.params
        t = dt_s / 3600
        self.energy_kwh += heater_kw * t
        delivered = self._emitter(t, heater_kw)
        conv = p.emitter.convective
        rad_kw = delivered * (1 - conv) + gains_rad_kw
        q_air = delivered * conv + gains_air_kw + rad_kw * p.rad_to_air
        q_mass = rad_kw * p.rad_to_mass
        lost_direct = rad_kw * p.rad_lost
        h_ao = p.h_ao_kw_per_k + extra_h_ao
        self.gains_kwh += (gains_air_kw + gains_rad_kw) * t
        self._boost(t, delivered)
        if p.c_mass_kwh_per_k <= 0:
            mean_air = self._step_one_node(t, q_air + q_mass, h_ao, outdoor_c)
        else:
            mean_air = self._step_two_nodes(t, q_air, q_mass, h_ao, outdoor_c)
        self.loss_kwh += lost_direct * t
        self._sense(t, mean_air)

    def _emitter(self, t: float, heater_kw: float) -> float:
        """The emitter's mean heat output over the step (its output state moves to the step's end)."""
        lag_h = self.params.emitter.lag_min / 60
        if lag_h <= 0:
            self.output_kw = heater_kw
            return heater_kw
        decay = math.exp(-t / lag_h)
        start = self.output_kw
        self.output_kw = heater_kw + (start - heater_kw) * decay
        return heater_kw + (start - heater_kw) * lag_h / t * (1 - decay)

    def _sense(self, t: float, mean_air: float) -> None:
        lag_h = self.params.sensor_lag_min / 60
        if lag_h <= 0:
            self.sensed_c = self.air_c
            return
        self.sensed_c = mean_air + (self.sensed_c - mean_air) * math.exp(-t / lag_h)

    def _boost(self, t: float, output_kw: float) -> None:
        emitter = self.params.emitter
        if emitter.kind != "local":
            return
        target = emitter.boost_c * (output_kw / self.params.heater_kw if self.params.heater_kw > 0 else 0.0)
        decay = math.exp(-t * 60 / emitter.warm_min)
        self.boost_c = target + (self.boost_c - target) * decay

    def _step_one_node(self, t: float, q: float, h: float, outdoor_c: float) -> float:
        c = self.params.c_air_kwh_per_k
        tau = c / h
        eq = outdoor_c + q / h
        decay = math.exp(-t / tau)
        start = self.air_c
        self.air_c = self.mass_c = eq + (start - eq) * decay
        integral = (eq - outdoor_c) * t + (start - eq) * tau * (1 - decay)  # ∫(T − To) dt
        self.loss_kwh += h * integral
        return outdoor_c + integral / t

    def _matrices(self, t: float, h_ao: float) -> _Step:
        key = (t, h_ao)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        p = self.params
        ca, cm, ham, hmo = p.c_air_kwh_per_k, p.c_mass_kwh_per_k, p.h_am_kw_per_k, p.h_mo_kw_per_k
        a = (-(ham + h_ao) / ca, ham / ca, ham / cm, -(ham + hmo) / cm)
        det = a[0] * a[3] - a[1] * a[2]
        ai = (a[3] / det, -a[1] / det, -a[2] / det, a[0] / det)
        e = _expm2(*a, t)
        d = (e[0] - 1, e[1], e[2], e[3] - 1)
        m = (
            ai[0] * d[0] + ai[1] * d[2],
            ai[0] * d[1] + ai[1] * d[3],
            ai[2] * d[0] + ai[3] * d[2],
            ai[2] * d[1] + ai[3] * d[3],
        )
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        step = self._cache[key] = _Step(e, ai, m)
        return step

    def _step_two_nodes(self, t: float, q_air: float, q_mass: float, h_ao: float, outdoor_c: float) -> float:
        p = self.params
        s = self._matrices(t, h_ao)
        b0 = (h_ao * outdoor_c + q_air) / p.c_air_kwh_per_k
        b1 = (p.h_mo_kw_per_k * outdoor_c + q_mass) / p.c_mass_kwh_per_k
        eq0 = -(s.ai[0] * b0 + s.ai[1] * b1)
        eq1 = -(s.ai[2] * b0 + s.ai[3] * b1)
        d0, d1 = self.air_c - eq0, self.mass_c - eq1
        self.air_c = eq0 + s.e[0] * d0 + s.e[1] * d1
        self.mass_c = eq1 + s.e[2] * d0 + s.e[3] * d1
        # ∫(T − To) dt over the step, for the losses
        int_air = (eq0 - outdoor_c) * t + s.m[0] * d0 + s.m[1] * d1
        int_mass = (eq1 - outdoor_c) * t + s.m[2] * d0 + s.m[3] * d1
        self.loss_kwh += h_ao * int_air + p.h_mo_kw_per_k * int_mass
        return outdoor_c + int_air / t

    def sensor_reading(self, noise_c: float) -> float:
        """What a thermometer in the zone reads: the air as its case sees it, plus ``noise_c``, to 0.01 °C."""
        return round(self.sensed_c + noise_c, 2)
