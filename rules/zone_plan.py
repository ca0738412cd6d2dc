"""The values a zone's decision passes between its steps: the plan, the result, the reason maker.

Rules of this module: frozen values only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rules.types import Action, Notice, Reason, ZoneMemory, ZoneStatus
from rules.vocab import Mode

#: builds a :class:`Reason` with times turned into local words (rules.engine's ``_Reasons``)
Reasons = Callable[..., Reason]


@dataclass(frozen=True, slots=True)
class Plan:
    """The zone's mode and target now, and where they come from."""

    mode: Mode
    occupied: bool
    source: str
    label: str
    until_ns: int | None
    target: float | None
    setpoint: bool = False  # a booking's own temperature rather than the mode's
    coast: bool = False  # optimum stop: heating again only at the comfort floor


@dataclass(frozen=True, slots=True)
class Forecast:
    """The next preheat as the model sees it now."""

    start_ns: int | None = None
    lead_h: float | None = None


@dataclass(frozen=True, slots=True)
class ZoneResult:
    """What one zone's decision gives the engine."""

    actions: tuple[Action, ...]
    status: ZoneStatus
    memory: ZoneMemory
    conditions: dict[str, Notice]
