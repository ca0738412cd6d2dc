"""The zone page's "thermal model" card: what the zone's model has learned and when it heats next, and why.

Rules of this module:
- it only formats: the figures are the rules' :class:`rules.types.ModelSummary` of the zone's last
  evaluation, read from the zone status's ``model`` (a status without one — the gateway starting,
  a zone heated by local heating of people — shows no card);
- every sentence goes through gettext (French first, English available) and every number through
  :mod:`gateway.web.i18n`, so the template only lays the card out;
- call it inside a request (the language is the user's).

What the card says (issue 10): the structure's time constant and the losses the model uses, whether
they were learned from the zone's own history or are still the archetype's prior, when the next
preheat starts and why (the lead the model predicts from the zone's state now), and, while the
thermometer is silent, the air temperature the model stands in with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from gateway.web.i18n import clock_time, day, hours_minutes, local, temperature, unit


@dataclass(frozen=True, slots=True)
class ModelCard:
    """The card's lines, formatted in the user's language."""

    tau: str  # "41 h"
    losses: str  # "0,31 kW/K" (or "—" when the heaters' power is not declared)
    full_power: str  # "26 °C": what the heaters at full power hold above outdoors
    source: str  # learned from the zone's history, or the prior
    start: str  # when the next preheat starts, and why
    estimated: str | None  # the model's air temperature while the thermometer is silent


def model_card(status: Any, *, now: datetime) -> ModelCard | None:
    """The card of a zone status carrying the rules' model summary (``None`` without one)."""
    summary = getattr(status, "model", None)
    if summary is None:
        return None
    if summary.learned:
        source = _("Learned from %(hours)s hours of this zone's history.", hours=summary.hours)
        if summary.rmse is not None:
            source += " " + _("Hourly fit within %(pct)s of full power.", pct=unit(100 * summary.rmse, "%", 0))
    else:
        source = _(
            "Not learned yet: the starting figures (the building's archetype), refined as the zone's history grows."
        )
    estimated = None
    if summary.estimated_c is not None:
        estimated = _(
            "Thermometer silent: the model estimates the air at %(temperature)s.",
            temperature=temperature(summary.estimated_c),
        )
    return ModelCard(
        tau=unit(summary.tau_h, "h", 0),
        losses=unit(summary.ua_kw_per_k, "kW/K", 2) if summary.ua_kw_per_k is not None else "—",
        full_power=temperature(1 / summary.ua_per_kw) if summary.ua_per_kw > 0 else "—",
        source=source,
        start=_start(summary, now),
        estimated=estimated,
    )


def _start(summary: Any, now: datetime) -> str:
    """When the next preheat starts and why."""
    lead = hours_minutes(summary.lead_h)
    structure = temperature(summary.structure_c)
    if summary.next_start_ns is not None and summary.lead_h is not None:
        return str(
            _(
                "Heating starts %(when)s: the model lets the zone cool until then and counts the heating it will "
                "then need to be at its target on arrival. From the zone as it is now (structure at %(structure)s) it "
                "would take %(lead)s.",
                when=when(summary.next_start_ns, now),
                structure=structure,
                lead=lead,
            )
        )
    if summary.lead_h is not None:
        return str(_("Preheating now: the model needs %(lead)s of heating to reach the target.", lead=lead))
    return str(_("No preheat ahead: the zone is occupied, or no occupancy is planned."))


def when(moment_ns: int, now: datetime) -> str:
    """``aujourd'hui à 14 h 30``, ``demain à 5 h 40``, ``jeudi 3 décembre à 6 h``."""
    moment = local(moment_ns)
    days = (moment.date() - local(now).date()).days
    at = clock_time(moment)
    if days == 0:
        return str(_("today at %(time)s", time=at))
    if days == 1:
        return str(_("tomorrow at %(time)s", time=at))
    return str(_("%(day)s at %(time)s", day=day(moment), time=at))
