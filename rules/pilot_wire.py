"""Fil pilote: a zone's mode as an order to French electric convectors, through two relays.

Rules of this module: a table, read by two small functions. Orders (NF C15-100 practice, 4 orders):

=========  ===================  ==========  ===========
order      signal on the wire   relay plus  relay minus
=========  ===================  ==========  ===========
confort    none                 open        open
eco        full 230 V sine      closed      closed
hors-gel   negative half-wave   open        closed
arrêt      positive half-wave   closed      open
=========  ===================  ==========  ===========

Wiring (docs/rules.md): phase -> relay ``plus`` -> diode (anode on the relay side, passes the positive
half-wave) -> pilot wire; phase -> relay ``minus`` -> diode reversed (passes the negative half-wave)
-> pilot wire. Both closed: both half-waves, the full sine. The convector regulates itself around
its own setpoints (eco is typically confort − 3.5 °C, hors-gel about 7 °C).
"""

from __future__ import annotations

from typing import Literal

from rules.config import Mode

Order = Literal["confort", "eco", "hors_gel", "arret"]

#: mode -> order sent on the pilot wire
ORDER_OF_MODE: dict[Mode, Order] = {
    "confort": "confort",
    "reduit": "eco",
    "hors_gel": "hors_gel",
    "arret": "arret",
}
#: order -> the mode it stands for (the convectors hold that mode's setpoint)
MODE_OF_ORDER: dict[Order, Mode] = {order: mode for mode, order in ORDER_OF_MODE.items()}
#: order -> (relay plus closed, relay minus closed)
RELAYS_OF_ORDER: dict[Order, tuple[bool, bool]] = {
    "confort": (False, False),
    "eco": (True, True),
    "hors_gel": (False, True),
    "arret": (True, False),
}


def relays_for(order: Order) -> tuple[bool, bool]:
    """The (plus, minus) relay levels that send ``order``."""
    return RELAYS_OF_ORDER[order]


def order_of(plus: bool, minus: bool) -> Order:
    """The order two relay levels send (the inverse of :func:`relays_for`)."""
    return next(o for o, levels in RELAYS_OF_ORDER.items() if levels == (plus, minus))
