"""Presence: did anybody come to this occupancy? (PIR and door contacts of the zone.)

Rules of this module: pure functions over the inputs' states (level and time of the last change).

An occupancy (a slot or a booking) starting at ``since_ns`` is *attended* once one of the zone's
presence inputs is active, or changed, from a few minutes before its start (people arrive early).
An occupancy nobody attends ``no_show_min`` after its start is a *no-show*: the zone drops to réduit
until someone comes or the occupancy ends. A zone without presence inputs is always attended.
"""

from __future__ import annotations

from collections.abc import Mapping

from rules.heating_config import HeatingConfig
from rules.types import InputState

NS = 1_000_000_000
MINUTE_NS = 60 * NS
#: movement this long before an occupancy's start counts for it (people arriving early)
EARLY_MIN = 15


def seen(cfg: HeatingConfig, inputs: Mapping[str, InputState], since_ns: int) -> bool:
    """Whether a presence input shows somebody since ``since_ns`` (minus :data:`EARLY_MIN`)."""
    if not cfg.presence.inputs:
        return True
    early = since_ns - EARLY_MIN * MINUTE_NS
    for name in cfg.presence.inputs:
        state = inputs.get(name)
        if state is not None and (state.active or state.since_ns >= early):
            return True
    return False


def no_show(cfg: HeatingConfig, *, attended: bool, since_ns: int, now_ns: int) -> bool:
    """An occupancy nobody came to, ``no_show_min`` after its start."""
    if attended or not cfg.presence.inputs:
        return False
    return now_ns >= since_ns + int(cfg.presence.no_show_min * MINUTE_NS)
