"""Zone override commands over MQTT: parse and validate, then apply through the control façade.

``<prefix>/<site>/<building>/<zone>/override/set`` with a small JSON body::

    {"mode": "confort", "until": "2026-11-28T23:00:00+01:00", "label": "Loto"}
    {"setpoint": 16, "until": "2026-11-28T23:00"}          # naive times are site-local

Rules of this module:
- a body is at most 1 KiB of JSON; exactly one of ``mode`` / ``setpoint``; ``until`` is required,
  ``start`` optional; ``label`` at most 60 characters;
- dates are bounded by the control façade alone (:mod:`gateway.control_bounds`, the same bound as
  the admin page's): this module only checks they are ISO-8601 date-times;
- a ``setpoint`` is booked as that temperature (``Control.add_override(setpoint_c=...)``), within
  the zone's bounds (its hors-gel setpoint .. ``max_setpoint_c``, 19 °C unless configured: the
  cap of R241-26 for occupied public buildings); outside them the façade refuses it;
- the override is created by :meth:`gateway.control.Control.add_override` (the admin page's
  path: same validation, settings store, audit log with user ``mqtt``);
- every refusal is a :class:`CommandError` with a one-line reason; the caller raises an event.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from gateway.control import Control

MAX_BODY = 1024
USER = "mqtt"


class CommandError(ValueError):
    """A command refused; ``str()`` is the reason, in one line."""


@dataclass(frozen=True, slots=True)
class OverrideRequest:
    """A validated request, before the façade checks the zone."""

    building: str
    zone: str
    mode: str | None
    setpoint: float | None
    until: datetime
    start: datetime | None
    label: str


def _when(value: object, field: str, tz: ZoneInfo) -> datetime:
    if not isinstance(value, str):
        raise CommandError(f"{field} must be an ISO-8601 date-time string")
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{field} {value!r} is not an ISO-8601 date-time") from exc
    return when.replace(tzinfo=tz) if when.tzinfo is None else when


def parse_override(building: str, zone: str, body: bytes, *, now: datetime, tz: ZoneInfo) -> OverrideRequest:
    """Validate a command body (no side effect)."""
    if len(body) > MAX_BODY:
        raise CommandError(f"body too large ({len(body)} bytes, at most {MAX_BODY})")
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommandError(f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CommandError("body must be a JSON object")
    unknown = set(data) - {"mode", "setpoint", "until", "start", "label"}
    if unknown:
        raise CommandError(f"unknown key(s): {', '.join(sorted(unknown))}")
    mode, setpoint = data.get("mode"), data.get("setpoint")
    if (mode is None) == (setpoint is None):
        raise CommandError("give exactly one of 'mode' or 'setpoint'")
    if mode is not None and not isinstance(mode, str):
        raise CommandError("mode must be a string")
    if setpoint is not None and (
        isinstance(setpoint, bool) or not isinstance(setpoint, int | float) or not math.isfinite(setpoint)
    ):
        raise CommandError("setpoint must be a number (°C)")
    if "until" not in data:
        raise CommandError("'until' is required")
    until = _when(data["until"], "until", tz)
    start = _when(data["start"], "start", tz) if data.get("start") is not None else None
    label = data.get("label", "MQTT")
    if not isinstance(label, str) or len(label) > 60 or "\n" in label:
        raise CommandError("label must be a single line of at most 60 characters")
    return OverrideRequest(building, zone, mode, float(setpoint) if setpoint is not None else None, until, start, label)


def apply_override(control: Control, request: OverrideRequest) -> Any:
    """Create the override through the façade; :class:`CommandError` with the façade's reason."""
    from gateway.control import UnknownSubjectError, ValidationError

    try:
        return control.add_override(
            request.building,
            request.zone,
            mode=request.mode,
            start=request.start,
            end=request.until,
            label=request.label,
            user=USER,
            setpoint_c=request.setpoint,
        )
    except UnknownSubjectError as exc:
        raise CommandError(str(exc)) from exc
    except ValidationError as exc:
        raise CommandError(str(exc)) from exc
