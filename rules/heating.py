"""Thermostat for an on/off heater: hysteresis, minimum on/off times, maximum run, fail-safe.

Rules of this module: one pure function, :func:`relay_decision`, applied in a fixed order:

1. what the zone wants: ``arret`` -> off; window open -> off; stale temperature -> the declared
   safe behaviour (frost-protection duty cycle or off, never the last known value); otherwise the
   hysteresis: an idle heater starts at or below ``target − cold_tolerance``, a running one stops
   above ``target + hot_tolerance``, and in between nothing changes;
2. the slow warm-up limit (churches): a running heater pauses while the temperature rises faster
   than ``max_rise_c_per_h``;
3. the maximum continuous on time: a heater on for ``max_on_h`` stops (then rests ``min_off_min``);
4. minimum on and off times always win last: a relay never switches sooner than they allow.

So the fail-safe takes effect within ``stale_after_min + min_on_min``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rules.config import HeatingConfig
from rules.types import ParamValue, RelayState

NS = 1_000_000_000
MINUTE_NS = 60 * NS


@dataclass(frozen=True, slots=True)
class Inputs:
    """What the thermostat needs about one zone at one instant."""

    target_c: float | None  # None: mode arrêt
    measured_c: float | None  # None: stale or no sensor
    stale_min: float | None  # minutes since the last fresh reading (None: never read)
    window_open: bool
    rise_c_per_h: float | None  # observed over the last ~15 min
    relay: RelayState
    now_ns: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """The relay level, the reason code and its parameters."""

    on: bool
    code: str
    params: tuple[tuple[str, ParamValue], ...] = ()


def _wanted(cfg: HeatingConfig, x: Inputs) -> Outcome:  # noqa: PLR0911 (a rule table: one return per rule)
    if x.target_c is None:
        return Outcome(False, "heat_mode_off")
    if x.window_open:
        return Outcome(False, "heat_window")
    if x.measured_c is None:  # no estimate either (rules.zone_outputs uses the model's when it has one)
        fs = cfg.failsafe
        if fs.mode == "off":
            return Outcome(False, "heat_failsafe_off")
        period_ns = int(fs.duty_period_min * MINUTE_NS)
        on = (x.now_ns % period_ns) < int(fs.duty_on_min * MINUTE_NS)
        params = (("on_min", round(fs.duty_on_min)), ("period_min", round(fs.duty_period_min)))
        return Outcome(on, "heat_failsafe_duty_on" if on else "heat_failsafe_duty_off", params)
    if x.relay.on:
        if x.measured_c > x.target_c + cfg.hot_tolerance:
            return Outcome(False, "heat_off_reached")
        return Outcome(True, "heat_on")
    if x.measured_c <= x.target_c - cfg.cold_tolerance:
        return Outcome(True, "heat_on")
    return Outcome(False, "heat_off_enough")


def relay_decision(cfg: HeatingConfig, x: Inputs) -> Outcome:
    """The desired level of the zone's heater relay and why."""
    return limits(cfg, _wanted(cfg, x), x)


def limits(cfg: HeatingConfig, out: Outcome, x: Inputs) -> Outcome:
    """Rules 2–4 applied to a wanted level: the rise limit, the maximum run, the minimum on/off times."""
    if (
        out.on
        and cfg.max_rise_c_per_h is not None
        and x.measured_c is not None
        and x.rise_c_per_h is not None
        and x.rise_c_per_h > cfg.max_rise_c_per_h
    ):
        out = Outcome(False, "heat_rise_limit", (("rate", round(cfg.max_rise_c_per_h, 1)),))
    since = x.relay.since_ns
    held_ns = x.now_ns - since if since is not None else None
    if out.on and x.relay.on and held_ns is not None and held_ns >= cfg.max_on_h * 60 * MINUTE_NS:
        out = Outcome(False, "heat_max_on", (("hours", round(cfg.max_on_h, 1)),))
    if held_ns is not None and out.on != x.relay.on:
        if x.relay.on and held_ns < cfg.min_on_min * MINUTE_NS:
            return Outcome(True, "heat_min_on", (("minutes", round(cfg.min_on_min, 1)),))
        if not x.relay.on and held_ns < cfg.min_off_min * MINUTE_NS:
            return Outcome(False, "heat_min_off", (("minutes", round(cfg.min_off_min, 1)),))
    return out
