"""Each zone's heat balance learned from its own history: hourly rows and a regularised fit.

Rules of this module: pure functions over plain numbers; no I/O, no clock.

**The hourly log.** Every tick adds what the zone did since the last one (air temperature,
outdoor temperature, the heater's power fraction, occupancy) to the current hour; a finished hour
becomes a row ``(hour_ns, ta, to, u, occ)``. ``u`` is ``None`` when the heater's power is not known
for the whole hour (pilot-wire convectors regulating themselves). The shell can seed the log from
the hourly archive at start (mean temperature, outdoor, heater duty).

**The fit.** Over the log, the structure's temperature is reconstructed from the measured air
(:func:`rules.thermal.mass_step`, the observer), and each hour's heat balance of the air must close::

    f·u + g·occ − (h_ao + h_occ·occ)(Ta − To) − h_am (Ta − Tm) − c_a dTa/dt = 0

The conductances and the structure's capacity (in logarithms, so they stay positive), the
occupancy's gains and ventilation, and the structure's temperature at the start of the log minimise
the squared imbalances plus a penalty for straying from the prior (the building's archetype, or
:func:`rules.thermal.generic`): a zone with little history keeps its prior, a zone with warm-ups and
cool-downs in its history gets its own figures. Levenberg–Marquardt with a numerical Jacobian;
seven unknowns, a few hundred rows: a few tens of milliseconds, once a day.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from rules.thermal import Params, mass_step

NS = 1_000_000_000
HOUR_NS = 3600 * NS
#: rows kept: three weeks (a zone used once a week still has three warm-ups)
MAX_ROWS = 21 * 24
#: a sample never stands for more than this much time (a gap in the ticks is not an hour of data)
MAX_SAMPLE_H = 0.1
#: hours with less coverage than this are dropped
MIN_COVERAGE = 0.75

#: one finished hour: (hour start ns, air °C, outdoor °C, heater power fraction or None, occupancy 0..1)
Row = tuple[int, float, float, float | None, float]
#: the hour being filled: (hour start ns, weight h, Σta·w, Σto·w, Σu·w, weight of known u, Σocc·w, last sample ns)
Acc = tuple[int, float, float, float, float, float, float, int]

#: prior spread of each log-parameter (h_ao, h_am, h_mo, c_m)
PRIOR_SIGMA = (0.5, 0.6, 0.5, 0.5)
#: prior spread of the occupancy's gains and ventilation, as shares of the total loss at 15 K and of it
GAIN_SIGMA_SHARE = 0.3
VENT_SIGMA_SHARE = 0.3
#: prior spread of the structure's temperature at the start of the log (K)
START_SIGMA_K = 3.0
#: the common scale of the conductances and capacities against the heater's power is seen only in hours
#: the heater ran; with fewer such hours than this it is held to the prior's within SCALE_SIGMA
HEATED_HOURS = 12
SCALE_SIGMA = 0.1
#: expected size of an hour's imbalance (fraction of full power: sun, people, sensor placement)
NOISE = 0.05


def add_sample(
    acc: Acc | None, rows: tuple[Row, ...], *, now_ns: int, ta: float, to: float, u: float | None, occ: float
) -> tuple[Acc | None, tuple[Row, ...]]:
    """Fold one tick into the hour being filled; close it into a row when the hour is over."""
    hour_ns = now_ns - now_ns % HOUR_NS
    if acc is not None and acc[0] != hour_ns:
        rows = _close(acc, rows)
        acc = None
    if acc is None:
        return (hour_ns, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, now_ns), rows
    w = min(max(now_ns - acc[7], 0) / HOUR_NS, MAX_SAMPLE_H)
    _, weight, s_ta, s_to, s_u, w_u, s_occ, _ = acc
    if u is not None:
        s_u, w_u = s_u + u * w, w_u + w
    return (hour_ns, weight + w, s_ta + ta * w, s_to + to * w, s_u, w_u, s_occ + occ * w, now_ns), rows


def _close(acc: Acc, rows: tuple[Row, ...]) -> tuple[Row, ...]:
    hour_ns, weight, s_ta, s_to, s_u, w_u, s_occ, _ = acc
    if weight < MIN_COVERAGE:
        return rows
    u = round(s_u / w_u, 3) if w_u >= weight * 0.999 else None
    row: Row = (hour_ns, round(s_ta / weight, 2), round(s_to / weight, 2), u, round(s_occ / weight, 2))
    return (*rows, row)[-MAX_ROWS:]


@dataclass(frozen=True, slots=True)
class Fit:
    """The outcome of one fit: the parameters, the structure's temperature at the end of the last row,
    the root-mean-square imbalance (fraction of full power) and how many hours were used."""

    params: Params
    tm_end: float
    rmse: float
    hours: int


def fit(prior: Params, rows: Sequence[Row], *, iterations: int = 20) -> Fit | None:
    """Fit the zone's parameters to its rows, starting from (and held towards) ``prior``."""
    if len(rows) < 24:
        return None
    theta0 = [*_logs(prior), prior.g, prior.h_occ, rows[0][1] - 0.5]
    sigma = [*PRIOR_SIGMA, GAIN_SIGMA_SHARE * prior.ua * 15, VENT_SIGMA_SHARE * prior.ua, START_SIGMA_K]
    heated = sum(1 for r in rows if r[3] is not None and r[3] >= 0.5)
    problem = _Problem(prior, rows, theta0, sigma, anchor=heated < HEATED_HOURS)
    theta, cost = list(theta0), problem.cost(theta0)
    lam = 1e-2
    for _ in range(iterations):
        res = problem.residuals(theta)
        jac = problem.jacobian(theta, res)
        n = len(theta)
        jtj = [[sum(row[i] * row[j] for row in jac) for j in range(n)] for i in range(n)]
        jtr = [sum(row[i] * r for row, r in zip(jac, res, strict=True)) for i in range(n)]
        improved = False
        for _ in range(6):
            damped = [[jtj[i][j] + (lam * jtj[i][i] if i == j else 0.0) for j in range(n)] for i in range(n)]
            delta = _solve(damped, [-x for x in jtr])
            if delta is None:
                break
            trial = [t + d for t, d in zip(theta, delta, strict=True)]
            trial_cost = problem.cost(trial)
            if trial_cost < cost:
                improved = cost - trial_cost > 1e-9 * max(cost, 1.0)
                theta, cost, lam = trial, trial_cost, max(lam / 3, 1e-7)
                break
            lam *= 4
        if not improved:
            break
    params = problem.params(theta)
    imbalances, tm_end = problem.imbalances(params, theta[-1])
    rmse = math.sqrt(sum(x * x for x in imbalances) / len(imbalances)) if imbalances else 0.0
    return Fit(params, tm_end, rmse, len(imbalances))


def _logs(p: Params) -> list[float]:
    return [math.log(p.h_ao), math.log(p.h_am), math.log(p.h_mo), math.log(p.c_m)]


class _Problem:
    """The fit's residuals: scaled hourly imbalances, then the prior's penalties."""

    def __init__(
        self, prior: Params, rows: Sequence[Row], theta0: list[float], sigma: list[float], *, anchor: bool
    ) -> None:
        self.prior = prior
        self.rows = rows
        self.theta0 = theta0
        self.sigma = sigma
        self.anchor = anchor
        # the air's capacity is the least visible in hourly data: it keeps its share of the structure's
        self.c_a_share = prior.c_a / prior.c_m

    def params(self, theta: Sequence[float]) -> Params:
        h_ao, h_am, h_mo, c_m = (math.exp(x) for x in theta[:4])
        g, h_occ = theta[4], max(theta[5], 0.0)
        return replace(self.prior, h_ao=h_ao, h_am=h_am, h_mo=h_mo, c_m=c_m, c_a=c_m * self.c_a_share, g=g, h_occ=h_occ)

    def imbalances(self, p: Params, tm0: float) -> tuple[list[float], float]:
        """Each usable hour's air heat imbalance (fraction of full power), and the structure at the end."""
        rows = self.rows
        out: list[float] = []
        tm = tm0
        for k, (hour_ns, ta, to, u, occ) in enumerate(rows):
            prev = rows[k - 1] if k > 0 and rows[k - 1][0] == hour_ns - HOUR_NS else None
            nxt = rows[k + 1] if k + 1 < len(rows) and rows[k + 1][0] == hour_ns + HOUR_NS else None
            if prev is not None and nxt is not None:
                dta = (nxt[1] - prev[1]) / 2
            elif nxt is not None:
                dta = nxt[1] - ta
            elif prev is not None:
                dta = ta - prev[1]
            else:
                dta = 0.0
            store = p.c_a * dta
            loss = (p.h_ao + p.h_occ * occ) * (ta - to)
            tm_next = mass_step(p, tm, ta=ta, to=to, u=u if u is not None else 0.0, hours=1.0)
            tm_mid = (tm + tm_next) / 2
            if u is None:  # the heater's power is implied by the balance: carry the structure with it
                implied = (loss + p.h_am * (ta - tm_mid) + store - p.g * occ) / p.f
                tm_next = mass_step(p, tm, ta=ta, to=to, u=min(1.0, max(0.0, implied)), hours=1.0)
            else:
                out.append(p.f * u + p.g * occ - loss - p.h_am * (ta - tm_mid) - store)
            tm = tm_next
            if nxt is None and k + 1 < len(rows):  # a gap: the structure drifts towards the next reading
                gap_h = (rows[k + 1][0] - hour_ns) / HOUR_NS - 1
                tm = mass_step(p, tm, ta=(ta + rows[k + 1][1]) / 2, to=(to + rows[k + 1][2]) / 2, u=0.0, hours=gap_h)
        return out, tm

    def residuals(self, theta: Sequence[float]) -> list[float]:
        data, _ = self.imbalances(self.params(theta), theta[-1])
        out = [x / NOISE for x in data]
        out.extend((t - t0) / s for t, t0, s in zip(theta, self.theta0, self.sigma, strict=True))
        if self.anchor:  # the common scale of the four log-parameters stays the prior's
            out.append(sum(t - t0 for t, t0 in zip(theta[:4], self.theta0[:4], strict=True)) / 4 / SCALE_SIGMA)
        return out

    def cost(self, theta: Sequence[float]) -> float:
        return sum(x * x for x in self.residuals(theta))

    def jacobian(self, theta: list[float], base: list[float]) -> list[list[float]]:
        cols: list[list[float]] = []
        for i in range(len(theta)):
            step = 1e-4 if i < 4 else (1e-4 * max(self.sigma[i], 1e-3) if i < 6 else 1e-3)
            moved = list(theta)
            moved[i] += step
            res = self.residuals(moved)
            cols.append([(r - b) / step for r, b in zip(res, base, strict=True)])
        return [[cols[i][k] for i in range(len(theta))] for k in range(len(base))]


def _solve(a: list[list[float]], b: list[float]) -> list[float] | None:
    """Gaussian elimination with partial pivoting; ``None`` for a singular system."""
    n = len(b)
    m = [[*row, rhs] for row, rhs in zip(a, b, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) < 1e-12:
            return None
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, n):
            factor = m[r][col] / m[col][col]
            for c in range(col, n + 1):
                m[r][c] -= factor * m[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x
