"""Local heating of people (pew heaters, radiant panels over the seats): how long before an occupancy.

Rules of this module: pure arithmetic on floats, no I/O, no clock.

These heaters warm the people, not the room: what people feel at the seats is the air plus a boost
that grows towards the heaters' full effect ``people_boost_c`` with the time constant
``people_warm_min`` (the elements, the seats and the clothes warming up; Camuffo et al., "Friendly
Heating", 2002–2005; Schellen, TU Eindhoven, 2002: about 5–10 K once warm). After ``t`` minutes
at full power the felt temperature is ``air + B·(1 − exp(−t / τ))``, so the lead that makes the
felt temperature reach ``felt_goal`` from the air measured now is ``τ·ln(B / (B − need))`` with
``need = felt_goal − air``. The felt goal is the target less :data:`~rules.arrival.ARRIVAL_BAND_C`
(a quarter of a degree, inside the thermostat's band). Three cases:

- **within reach**: that lead times :data:`MARGIN`, and never less than the configured
  ``people_lead_min`` (the installer's figure);
- **only near the heaters' full effect** (the need is over :data:`FULL_SHARE` of the boost, but
  the air plus the boost still clears the comfort line, target − 0.5 °C): the lead of
  :data:`FULL_SHARE`, which is where more time stops buying anything;
- **just out of reach** (the air plus the full boost stays under the comfort line, by at most
  :data:`NEAR_SHORT_C`): the lead of :data:`FULL_SHARE` too — the occupants' own heat and the heaters'
  warm the air during the occupancy, which may still bring it over the line — and an alert;
- **out of reach** (further under: a stone nave after a week of frost): no lead makes the people warm,
  so the configured lead is kept — a longer one burns for nothing — and :func:`shortfall` says how
  cold the seats will feel, for an alert.

No thermometer (or a silent one): the configured lead.
"""

from __future__ import annotations

import math

from rules.arrival import ARRIVAL_BAND_C
from rules.preheat import COMFORT_BAND_C

#: the lead aims at most at this share of the heaters' full effect (beyond, the time grows without end)
FULL_SHARE = 0.95
#: the computed lead is lengthened by this factor (the boost and its time constant are estimates)
MARGIN = 1.2
#: a shortfall up to this (°C) still gets the longest useful lead; beyond, the configured one
NEAR_SHORT_C = 2.0


def lead_min(*, air: float | None, target: float, boost_c: float, warm_min: float, floor_min: float) -> float:
    """Minutes before the occupancy the heaters of people go on (see the module docstring)."""
    short = None if air is None else shortfall(air=air, target=target, boost_c=boost_c)
    if air is None or (short is not None and short > NEAR_SHORT_C):
        return floor_min
    share = min(max((target - ARRIVAL_BAND_C - air) / boost_c, 0.0), FULL_SHARE)
    return max(floor_min, warm_min * math.log(1.0 / (1.0 - share)) * MARGIN)


def shortfall(*, air: float, target: float, boost_c: float) -> float | None:
    """How far (°C) under the comfort line the seats will feel at best, or ``None`` when within reach."""
    short = (target - COMFORT_BAND_C) - (air + boost_c)
    return short if short > 0 else None
