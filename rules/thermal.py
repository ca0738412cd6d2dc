"""A zone's heat balance as the rules see it: a two-node grey box (air and structure), normalised.

Rules of this module: pure arithmetic on floats, no I/O, no clock.

The model (ISO 13790 / 52016 family, reduced to two capacities, the usual choice for identification)::

    c_a dTa/dt = f·u + g·occ − (h_ao + h_occ·occ)(Ta − To) − h_am (Ta − Tm)    air (and furniture)
    c_m dTm/dt = (1 − f)·u   + h_am (Ta − Tm) − h_mo (Tm − To)        structure (walls, floors)

Every quantity is **normalised by the heater's full power** P, so the rules need not know P to
decide: ``u`` is the heater's power fraction (0..1), ``h_*`` are conductances in "full powers per
kelvin" (1/K), ``c_*`` capacities in "hours of full power per kelvin" (h/K), ``g`` the occupants'
and equipment gains while occupied, as a fraction of P, ``h_occ`` the ventilation that comes with
them (hygienic air per person: a class of pupils ventilates like an open window). With P known
(``heater_kw``), ``h·P`` is kW/K and ``c·P`` kWh/K. ``f`` is the share of the heater's output that
goes to the air (a convector ≈ 0.9, a radiant panel ≈ 0.5).

Predictions used by the rules, from the exact solution of the two-node network with constant
inputs (:func:`path`: two exponentials, so a tick stays cheap):
- :func:`lead_h` — how long at full power until the air reaches a target (optimum start);
- :func:`coast_min_c` — the lowest air temperature until a moment if the heater stops now
  (optimum stop);
- :func:`hold_duty` — the power fraction that holds a temperature in steady state (fail-safe);
- :func:`step` — both nodes advanced over a step (the "virtual thermometer" that replaces a
  silent one); :func:`mass_step` — the structure driven by the measured air (the observer).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: a prediction that never gets there (the heater cannot reach the target)
NEVER_H = math.inf
#: predicted crossings are found to this precision (h)
CROSSING_TOLERANCE_H = 1 / 600


@dataclass(frozen=True, slots=True)
class Params:
    """Normalised parameters of one zone (see the module docstring for units)."""

    h_ao: float
    h_am: float
    h_mo: float
    c_m: float
    c_a: float
    g: float = 0.0
    f: float = 0.9
    h_occ: float = 0.0

    @property
    def ua(self) -> float:
        """Total loss to outside in steady state (1/K): air path plus the series mass path."""
        return self.h_ao + self.h_am * self.h_mo / (self.h_am + self.h_mo)

    @property
    def tau_h(self) -> float:
        """The structure's time constant (h), the one that sets recoveries and cool-downs."""
        return self.c_m / self.mass_loss

    @property
    def tau_air_h(self) -> float:
        """The air's settling time constant (h)."""
        return self.c_a / (self.h_am + self.h_ao)

    @property
    def mass_loss(self) -> float:
        """The structure's conductance with the air settled: ``c_m dTm/dt = a − mass_loss·Tm``."""
        return self.h_am * self.h_ao / (self.h_am + self.h_ao) + self.h_mo


def generic(tau_h: float = 30.0, f: float = 0.9) -> Params:
    """A prior for a zone nobody described: sized like a French heater (1.3 × the loss at −7 °C for
    19 °C), structure time constant ``tau_h``, air to structure coupling 8 × the total loss (ISO 13790's
    9.1 W/m²K over 2.5 × the floor area, for a typical loss per m²)."""
    ua = 1.0 / (1.3 * 26.0)
    return from_shape(ua=ua, tau_h=tau_h, air_share=0.3, coupling=8.0, tau_air_h=0.3, g=0.08, f=f)


def from_shape(
    *, ua: float, tau_h: float, air_share: float, coupling: float, tau_air_h: float, g: float, f: float
) -> Params:
    """Parameters from figures people know: total loss ``ua``, time constant, the share of the loss that
    goes straight from the air (windows, ventilation), the air-to-structure coupling as a multiple
    of ``ua``, the air's settling time and the gains."""
    h_ao = air_share * ua
    h_am = coupling * ua
    series = ua - h_ao
    h_mo = series * h_am / (h_am - series)
    b = h_am * h_ao / (h_am + h_ao) + h_mo
    return Params(h_ao=h_ao, h_am=h_am, h_mo=h_mo, c_m=tau_h * b, c_a=tau_air_h * (h_am + h_ao), g=g, f=f)


@dataclass(frozen=True, slots=True)
class Now:
    """The zone as it is: air and structure temperatures, outdoor temperature, occupancy (0..1)."""

    ta: float
    tm: float
    to: float
    occ: float = 0.0


@dataclass(frozen=True, slots=True)
class Path:
    """The exact path of both nodes from ``now`` with constant inputs (hours from now).

    The two-node network is linear with real, negative eigenvalues ``l1`` (slow: the structure) and
    ``l2`` (fast: the air): each temperature is its steady value plus two decaying exponentials.
    """

    ta_inf: float
    tm_inf: float
    l1: float
    l2: float
    a1: float  # the air's coefficient on e^(l1 t)
    a2: float
    m1: float  # the structure's coefficient on e^(l1 t)
    m2: float

    def at(self, hours: float) -> tuple[float, float]:
        """(air, structure) after ``hours``."""
        e1, e2 = math.exp(self.l1 * hours), math.exp(self.l2 * hours)
        return self.ta_inf + self.a1 * e1 + self.a2 * e2, self.tm_inf + self.m1 * e1 + self.m2 * e2

    def air(self, hours: float) -> float:
        """The air after ``hours``."""
        return self.ta_inf + self.a1 * math.exp(self.l1 * hours) + self.a2 * math.exp(self.l2 * hours)

    def air_turn_h(self) -> float | None:
        """When the air stops rising or falling (its one extremum), if it has one after now."""
        if self.a1 == 0 or self.a2 == 0:
            return None
        ratio = -(self.a2 * self.l2) / (self.a1 * self.l1)
        if ratio <= 0:
            return None
        t = math.log(ratio) / (self.l1 - self.l2)
        return t if t > 0 else None


def path(p: Params, now: Now, *, u: float) -> Path:
    """Both nodes' exact path from ``now`` with the heater at ``u`` and the outdoor temperature held."""
    h_ao = p.h_ao + p.h_occ * now.occ
    a11 = -(p.h_am + h_ao) / p.c_a
    a12 = p.h_am / p.c_a
    a21 = p.h_am / p.c_m
    a22 = -(p.h_am + p.h_mo) / p.c_m
    b1 = (p.f * u + p.g * now.occ + h_ao * now.to) / p.c_a
    b2 = ((1 - p.f) * u + p.h_mo * now.to) / p.c_m
    det = a11 * a22 - a12 * a21
    ta_inf = (-a22 * b1 + a12 * b2) / det
    tm_inf = (a21 * b1 - a11 * b2) / det
    tr, disc = a11 + a22, math.sqrt((a11 - a22) ** 2 + 4 * a12 * a21)
    l1, l2 = (tr + disc) / 2, (tr - disc) / 2
    d1, d2 = now.ta - ta_inf, now.tm - tm_inf
    c1 = (d1 * (l2 - a11) - a12 * d2) / (a12 * (l2 - l1))
    c2 = d1 / a12 - c1
    return Path(ta_inf, tm_inf, l1, l2, a12 * c1, a12 * c2, c1 * (l1 - a11), c2 * (l2 - a11))


def step(p: Params, now: Now, *, u: float, hours: float) -> Now:
    """Both nodes after ``hours`` with constant inputs (exact)."""
    ta, tm = path(p, now, u=u).at(hours)
    return Now(ta, tm, now.to, now.occ)


def mass_step(p: Params, tm: float, *, ta: float, to: float, u: float, hours: float) -> float:
    """The structure after ``hours`` driven by a known (measured) air temperature ``ta``: the observer."""
    k = p.h_am + p.h_mo
    eq = (p.h_am * ta + p.h_mo * to + (1 - p.f) * u) / k
    return eq + (tm - eq) * math.exp(-k * hours / p.c_m)


def mass_hold_h(p: Params, *, tm: float, ta: float, to: float, target: float) -> float:
    """Hours for the structure to warm from ``tm`` to ``target`` with the air held at ``ta``
    (``NEVER_H`` if it settles below)."""
    k = p.h_am + p.h_mo
    eq = (p.h_am * ta + p.h_mo * to) / k
    if tm >= target:
        return 0.0
    if eq <= target:
        return NEVER_H
    return p.c_m / k * math.log((eq - tm) / (eq - target))


def lead_h(p: Params, now: Now, target: float) -> float:
    """Hours at full power until the air reaches ``target`` (0 if already there; ``NEVER_H`` if the
    heater cannot get there against this outdoor temperature)."""
    if now.ta >= target:
        return 0.0
    way = path(p, now, u=1.0)
    turn = way.air_turn_h()
    if turn is not None and way.air(turn) >= target:  # rises past the target, then settles lower
        return _first_crossing(way, target, 0.0, turn)
    if way.ta_inf <= target:
        return NEVER_H
    high = max(turn or 0.0, 1.0)
    while way.air(high) < target:
        high *= 2
        if high > 10_000:
            return NEVER_H
    return _first_crossing(way, target, turn or 0.0, high)


def _first_crossing(way: Path, target: float, low: float, high: float) -> float:
    """Bisection for the air reaching ``target`` between ``low`` (below) and ``high`` (above)."""
    for _ in range(50):
        mid = (low + high) / 2
        if way.air(mid) >= target:
            high = mid
        else:
            low = mid
        if high - low < CROSSING_TOLERANCE_H:
            break
    return high


def coast_min_c(p: Params, now: Now, hours: float) -> float:
    """The lowest air temperature over the next ``hours`` with the heater off."""
    way = path(p, now, u=0.0)
    lowest = min(now.ta, way.air(hours))
    turn = way.air_turn_h()
    if turn is not None and turn < hours:
        lowest = min(lowest, way.air(turn))
    return lowest


def hold_duty(p: Params, temperature: float, to: float, occ: float = 0.0) -> float:
    """The power fraction that holds the air at ``temperature`` in steady state (0..1).

    The share of the heat put into the structure (``1 − f``) leaves partly through the walls before
    it warms the air: it is worth ``1 − h_mo (1 − f) / (h_am + h_mo)`` of heat put into the air."""
    worth = 1 - p.h_mo * (1 - p.f) / (p.h_am + p.h_mo)
    need = ((p.ua + p.h_occ * occ) * (temperature - to) - p.g * occ) / worth
    return min(1.0, max(0.0, need))
