"""Plausibility: a decoded value that no meter of this model can give is rejected, never journaled.

Rules of this module:
- the bounds are data, in each profile's ``[bounds]`` table (sources in docs/meter-profiles.md);
  a quantity without a range (a profile built in code) is not checked;
- a value outside its quantity's range is rejected: ``below_min`` / ``above_max``;
- a counter (energy, water) never goes back (``counter_back``) and never rises faster than its
  ``rise_per_hour`` since the last accepted value (``counter_jump``), give or take one count of
  the register (or two float32 steps);
- a counter that went back or jumped and then stays consistent at its new level for
  :data:`RESET_POLLS` polls in a row was reset or replaced: that value is accepted and reported
  once (``resets``), so one bad reading can never lock a counter out for good;
- pure: values and event-loop times in, accepted values and rejections out; one
  :class:`Plausibility` per device remembers its counters.

Example::

    >>> from drivers.modbus_profile import load_profile
    >>> check = Plausibility(load_profile("sdm120"))
    >>> out = check.check({"voltage_v": 3.4e38, "energy_import_kwh": 12.5}, now=0.0)
    >>> out.values, [(r.field, r.reason) for r in out.rejections]
    ({'voltage_v': None, 'energy_import_kwh': 12.5}, [('voltage_v', 'above_max')])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from drivers.modbus_profile import FieldSpec, Profile

#: Consistent polls after which a counter that went back or jumped is taken as reset.
RESET_POLLS = 3
_FLOAT32_STEP = 2.0**-22  # two float32 steps, relative


@dataclass(frozen=True, slots=True)
class Rejection:
    """One value refused: which field, the value, why (the metric label) and a short explanation."""

    field: str
    value: float
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Checked:
    """A poll's values after the check: rejected ones are ``None`` (missing)."""

    values: dict[str, float | None]
    rejections: list[Rejection]
    resets: list[str]  # counters taken as reset at this poll


@dataclass
class _Counter:
    value: float
    at: float
    pending: list[tuple[float, float]] = field(default_factory=list)  # rejected (value, at), consistent


class Plausibility:
    """One device's checker: ranges from its profile, and the last accepted value of each counter."""

    def __init__(self, profile: Profile) -> None:
        self.bounds = profile.bounds
        self.fields: dict[str, FieldSpec] = {f.name: f for f in profile.fields}
        self._counters: dict[str, _Counter] = {}
        #: each field's range and rise per hour, looked up once (a poll checks every field)
        self._limits: dict[str, tuple[tuple[float, float] | None, float | None]] = {
            name: (self.bounds.range_of(name), self.bounds.rise_of(name)) for name in self.fields
        }

    def check(self, values: Mapping[str, float | None], *, now: float) -> Checked:
        """Accept or reject each value of one poll (``now``: event-loop time, for counter rates)."""
        out: dict[str, float | None] = {}
        rejections: list[Rejection] = []
        resets: list[str] = []
        for name, value in values.items():
            out[name] = value
            if value is None:
                continue
            limits = self._limits.get(name)
            span, rise = limits if limits is not None else (self.bounds.range_of(name), self.bounds.rise_of(name))
            if span is not None and not span[0] <= value <= span[1]:
                reason = "below_min" if value < span[0] else "above_max"
                rejections.append(Rejection(name, value, reason, f"{value:g} outside {span[0]:g}..{span[1]:g}"))
                out[name] = None
                continue
            if rise is None:
                continue
            verdict = self._counter(name, value, rise, now)
            if verdict == "reset":
                resets.append(name)
            elif verdict is not None:
                previous = self._counters[name].value
                detail = f"{value:g} after {previous:g}"
                rejections.append(Rejection(name, value, verdict, detail))
                out[name] = None
        return Checked(out, rejections, resets)

    def _counter(self, name: str, value: float, rise: float, now: float) -> str | None:
        counter = self._counters.get(name)
        if counter is None:
            self._counters[name] = _Counter(value, now)
            return None
        tolerance = self._tolerance(name, max(abs(value), abs(counter.value)))
        verdict = _step((counter.value, counter.at), (value, now), rise=rise, tolerance=tolerance)
        if verdict is None:
            self._counters[name] = _Counter(value, now)
            return None
        last = counter.pending[-1] if counter.pending else None
        if last is not None and _step(last, (value, now), rise=rise, tolerance=tolerance) is None:
            counter.pending.append((value, now))
        else:
            counter.pending = [(value, now)]
        if len(counter.pending) >= RESET_POLLS:
            self._counters[name] = _Counter(value, now)
            return "reset"
        return verdict

    def _tolerance(self, name: str, magnitude: float) -> float:
        spec = self.fields.get(name)
        if spec is not None and spec.type != "float32":
            return float(spec.factor)  # one count of the register
        return magnitude * _FLOAT32_STEP


def _step(before: tuple[float, float], after: tuple[float, float], *, rise: float, tolerance: float) -> str | None:
    """Why a counter cannot go from ``before`` to ``after`` (``(value, time)``); ``None`` if it can."""
    (old, old_at), (new, new_at) = before, after
    if new < old - tolerance:
        return "counter_back"
    if new > old + rise * max(new_at - old_at, 0.0) / 3600 + tolerance:
        return "counter_jump"
    return None
