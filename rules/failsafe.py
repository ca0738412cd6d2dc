"""The fail-safe of a zone whose thermometer is silent: heat by the model, within safe bounds.

Rules of this module: pure arithmetic.

While the thermometer is silent the model's air temperature stands in for it (rules.zone_model's
virtual thermometer), driven by the heater's state and the outdoor temperature, and the ordinary
thermostat holds it at a *safe target*: the schedule's (at most ``failsafe.safe_c``), brought
within the band where an error of the model cannot take the real zone below hors-gel nor above
confort. A model whose total loss is wrong by a factor ``k`` makes the held temperature's distance
to outdoors wrong by ``k``; the target is chosen so that ``k`` up to :data:`UNCERTAINTY` keeps the
zone between hors-gel and confort. In a −7 °C night that is about 12–13 °C; in a +15 °C spell,
anything up to about 18 °C.

With no outdoor temperature either, the model runs against a −10 °C night and holds hors-gel +
:data:`BLIND_MARGIN_C`: a duty that keeps hors-gel in a cold night (and may overheat a mild spell:
an outdoor thermometer is what lets the fail-safe follow the weather).
"""

from __future__ import annotations

from rules.heating_config import HeatingConfig

#: the factor by which the model's total loss may be wrong
UNCERTAINTY = 1.25
#: the safe band's margins inside hors-gel and confort (°C)
MARGIN_C = 0.5
#: with no outdoor temperature: hors-gel plus this, against a −10 °C night
BLIND_MARGIN_C = 1.5


def failsafe_target(cfg: HeatingConfig, wanted: float | None, *, outdoor: float | None) -> float:
    """The temperature the virtual thermometer is held at (°C)."""
    hg, conf = cfg.setpoints.hors_gel, cfg.setpoints.confort
    if outdoor is None:
        return hg + BLIND_MARGIN_C
    goal = hg + BLIND_MARGIN_C if wanted is None else wanted
    if cfg.failsafe.safe_c is not None:
        goal = min(goal, cfg.failsafe.safe_c)
    low = outdoor + (hg + MARGIN_C - outdoor) * UNCERTAINTY
    high = outdoor + (conf - MARGIN_C - outdoor) / UNCERTAINTY
    if low > high:  # too cold for both: the middle
        return (low + high) / 2
    return min(high, max(low, goal))
