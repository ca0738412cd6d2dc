"""Evaluate a whole site: ``decide(site, state, now) -> Decision``.

Rules of this module (and of all of rules/):
- pure: no I/O, no clock reads, no threads, no logging; ``now`` is an argument;
- level-triggered: the desired state of every output follows from (site, state, now), every tick;
- every action carries a :class:`~rules.types.Reason`.
"""

from __future__ import annotations

from datetime import datetime

from rules.config import Site
from rules.types import Action, Decision, Reason, State


def decide(site: Site, state: State, now: datetime) -> Decision:
    """The desired state of every output at ``now`` (a time-zone aware datetime)."""
    if now.tzinfo is None:
        raise ValueError("now must be time-zone aware (UTC)")
    now_ns = int(now.timestamp()) * 1_000_000_000 + now.microsecond * 1000
    actions = tuple(
        Action(output, False, Reason.of("not_ready"), subject)
        for output, subject in sorted(site.outputs().items())
    )
    return Decision(now_ns, actions, (), (), (), state.memory)
