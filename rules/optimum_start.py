"""Optimum start (relance optimisée): start heating so that confort is reached when occupancy starts.

Rules of this module: pure functions. The preheat lead time is (target − measured) / rate × margin,
at most ``max_preheat_h``. The rate (°C/h) is learned per zone from its own warm-ups, per band of
outdoor temperature (5 °C wide, ``"all"`` without an outdoor sensor): a warm-up is observed from the
moment the heater runs at least 1 °C below target until it stops or reaches the target, and folded
into the remembered rate with an exponential average (weight 0.3). Until a band has been learned,
the nearest learned band, then the configured rate is used.
"""

from __future__ import annotations

import math

from rules.config import HeatingConfig
from rules.types import ZoneMemory

NS = 1_000_000_000
HOUR_NS = 3600 * NS
LEARN_WEIGHT = 0.3
MIN_OBSERVED_H = 0.25
MIN_RISE_C = 0.5


def band(outdoor_c: float | None) -> str:
    """The outdoor temperature band a rate is learned for: ``"-5"`` is [-5, 0) °C."""
    if outdoor_c is None or not math.isfinite(outdoor_c):
        return "all"
    return str(int(math.floor(outdoor_c / 5.0) * 5))


def rate_for(cfg: HeatingConfig, memory: ZoneMemory, outdoor_c: float | None) -> float:
    """The expected warm-up rate (°C/h) now."""
    key = band(outdoor_c)
    rate = memory.rates.get(key)
    if rate is None and memory.rates:
        numeric = [k for k in memory.rates if k != "all"]
        if key != "all" and numeric:
            rate = memory.rates[min(numeric, key=lambda k: abs(int(k) - int(key)))]
        else:
            rate = memory.rates.get("all", next(iter(memory.rates.values())))
    rate = rate if rate is not None else cfg.optimum_start.rate_c_per_h
    if cfg.max_rise_c_per_h is not None:
        rate = min(rate, cfg.max_rise_c_per_h)
    return max(rate, 0.05)


def lead_ns(cfg: HeatingConfig, target_c: float, measured_c: float, rate_c_per_h: float) -> int:
    """How long before occupancy heating should start."""
    if measured_c >= target_c:
        return 0
    hours = (target_c - measured_c) / rate_c_per_h * cfg.optimum_start.margin
    return int(min(hours, cfg.optimum_start.max_preheat_h) * HOUR_NS)


def learn(
    cfg: HeatingConfig,
    memory: ZoneMemory,
    *,
    heating: bool,
    measured_c: float | None,
    target_c: float | None,
    outdoor_c: float | None,
    now_ns: int,
) -> ZoneMemory:
    """Follow warm-ups and fold finished ones into the learned rates."""
    if not cfg.optimum_start.learn:
        return memory
    warmup = memory.warmup
    if warmup is None:
        if heating and measured_c is not None and target_c is not None and target_c - measured_c >= 1.0:
            return memory.model_copy(update={"warmup": (now_ns, measured_c, band(outdoor_c))})
        return memory
    start_ns, start_c, key = warmup
    reached = measured_c is not None and target_c is not None and measured_c >= target_c - cfg.cold_tolerance
    if heating and measured_c is not None and not reached:
        return memory
    rates = dict(memory.rates)
    elapsed_h = (now_ns - start_ns) / HOUR_NS
    if measured_c is not None and elapsed_h >= MIN_OBSERVED_H and measured_c - start_c >= MIN_RISE_C:
        observed = (measured_c - start_c) / elapsed_h
        old = rates.get(key, cfg.optimum_start.rate_c_per_h)
        rates[key] = round((1 - LEARN_WEIGHT) * old + LEARN_WEIGHT * observed, 4)
    return memory.model_copy(update={"warmup": None, "rates": rates})
