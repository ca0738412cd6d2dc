"""Zone override commands over MQTT: parse and validate, then apply through the control façade.

``<prefix>/<site>/<building>/<zone>/override/set`` with a small JSON body::

    {"mode": "confort", "until": "2026-11-28T23:00:00+01:00", "label": "Loto"}
    {"setpoint": 16, "until": "2026-11-28T23:00", "id": "phone-42"}   # naive times are site-local

and the answer on ``.../override/result`` (not retained, QoS 0)::

    {"result": "applied", "override": 17, "id": "phone-42"}
    {"result": "rejected", "reason": "end: the end is already past", "id": "phone-42"}
    {"result": "rate_limited", "reason": "..."}

Rules of this module:
- the gateway subscribes with MQTT v5's *retain as published*, so a command published with the
  retain flag is seen as retained whether it arrives live or is replayed by the broker at
  subscription; a retained command is refused either way (it would re-apply itself at every
  reconnection);
- at most :data:`RATE_PER_MIN` commands a minute are handled (a burst of :data:`RATE_BURST`);
  the rest are refused unread (``rate_limited``); every command is counted by result
  (``gateway_mqtt_commands_total{result}``); every command handled is answered on its
  ``/result`` topic, refusals past the rate at most once a second (as the
  ``mqtt_command_rejected`` events);
- a body is at most 1 KiB of JSON; exactly one of ``mode`` / ``setpoint``; ``until`` is required,
  ``start`` optional; ``label`` at most 60 characters;
- dates are bounded by the control façade alone (:mod:`gateway.control.bounds`, the same bound as
  the admin page's): this module only checks they are ISO-8601 date-times;
- a ``setpoint`` is booked as that temperature (``Control.add_override(setpoint_c=...)``), within
  the zone's bounds (its hors-gel setpoint .. ``max_setpoint_c``, 19 °C unless configured: the
  cap of R241-26 for occupied public buildings); outside them the façade refuses it;
- the override is created by :meth:`gateway.control.facade.Control.add_override` (the admin page's
  path: same validation, settings store, audit log with user ``mqtt``);
- the control façade also caps the overrides a zone holds (:mod:`gateway.control.bounds`);
- every refusal is a :class:`CommandError` with a one-line reason, answered and raised as an event.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from gateway.control.values import UnknownSubjectError, ValidationError
from gateway.model import Event

if TYPE_CHECKING:
    import aiomqtt

    from gateway.control.facade import Control
    from gateway.core import Core
    from gateway.sinks.mqtt_topics import Topics

log = logging.getLogger("gateway.sinks.mqtt")  # its log lines stay beside the sink's

MAX_BODY = 1024
USER = "mqtt"
#: Commands handled per minute (a phone app sends a few a day), and the burst allowed at once.
RATE_PER_MIN = 20
RATE_BURST = 10
#: Refusals that cost an event or an answer at most this often (all are counted).
NOTICE_INTERVAL_S = 1.0


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
    ref: str | None = None  # the command's "id", echoed in the answer


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
    unknown = set(data) - {"mode", "setpoint", "until", "start", "label", "id"}
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
    ref = data.get("id")
    if ref is not None and (not isinstance(ref, str) or len(ref) > 64):
        raise CommandError("id must be a string of at most 64 characters")
    value = float(setpoint) if setpoint is not None else None
    return OverrideRequest(building, zone, mode, value, until, start, label, ref)


def apply_override(control: Control, request: OverrideRequest) -> Any:
    """Create the override through the façade; :class:`CommandError` with the façade's reason."""
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


def _ref(body: bytes) -> str | None:
    """The command's ``id`` if the body is a JSON object with a short string id (for the answer)."""
    try:
        data = json.loads(body[:MAX_BODY].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    ref = data.get("id") if isinstance(data, dict) else None
    return ref if isinstance(ref, str) and len(ref) <= 64 else None


class RateLimit:
    """A token bucket: ``per_min`` a minute, ``burst`` at once; the monotonic clock is passed in."""

    def __init__(self, *, per_min: int, burst: int, monotonic: Callable[[], float]) -> None:
        self.per_s = per_min / 60.0
        self.burst = float(burst)
        self._tokens = float(burst)
        self._monotonic = monotonic
        self._last = monotonic()

    def take(self) -> bool:
        """Whether one more command may be handled now."""
        now = self._monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.per_s)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one command: ``result`` applied | rejected | rate_limited, and the answer to send."""
    result: str
    reason: str = ""
    override_id: int | None = None
    ref: str | None = None
    answer: bool = True  # False: a refusal past the rate, beyond one answer a second

    def payload(self) -> str:
        body: dict[str, Any] = {"result": self.result}
        if self.override_id is not None:
            body["override"] = self.override_id
        if self.reason:
            body["reason"] = self.reason[:500]
        if self.ref is not None:
            body["id"] = self.ref
        return json.dumps(body, ensure_ascii=False)


class CommandHandler:
    """The override commands of one MQTT sink: subscribe, rate-limit, refuse retained ones, apply, answer.

    Runs in the event loop (the façade's changes then run inline); never raises for a bad command.
    """

    def __init__(self, *, sink: str, core: Core, topics: Topics, control: Control | None) -> None:
        self.sink = sink
        self._core = core
        self._topics = topics
        self._control = control
        self._rate = RateLimit(per_min=RATE_PER_MIN, burst=RATE_BURST, monotonic=core.clock.monotonic)
        self._last_notice = float("-inf")

    async def subscribe(self, client: aiomqtt.Client) -> None:
        """Subscribe to every zone's ``override/set`` keeping the publisher's retain flag (MQTT v5)."""
        from paho.mqtt.subscribeoptions import SubscribeOptions

        await client.subscribe(self._topics.override_filter, options=SubscribeOptions(qos=1, retainAsPublished=True))

    async def serve(self, client: aiomqtt.Client) -> None:
        """Handle every command the broker sends, answering each on its ``/result`` topic."""
        async for message in client.messages:
            payload = message.payload
            body = bytes(payload) if isinstance(payload, bytes | bytearray) else str(payload or "").encode()
            topic = str(message.topic)
            outcome = self.handle(topic, body, retained=bool(message.retain))
            if outcome.answer and self._topics.override_subject(topic) is not None:
                await client.publish(topic.removesuffix("/set") + "/result", outcome.payload(), qos=0, retain=False)

    def handle(self, topic: str, body: bytes, *, retained: bool = False) -> Outcome:
        """Apply one command; a refusal raises a ``mqtt_command_rejected`` event (at most one a second)."""
        subject = self._topics.override_subject(topic)
        if not self._rate.take():
            return self._refuse(topic, "rate_limited", f"more than {RATE_PER_MIN} commands a minute", None)
        ref = _ref(body)
        try:
            if subject is None:
                raise CommandError(f"not an override topic: {topic}")
            if retained:
                raise CommandError("retained commands are ignored (publish with retain=false)")
            if self._control is None:
                raise CommandError("control is not available in this process")
            request = parse_override(
                subject[0], subject[1], body, now=self._core.clock.now(), tz=self._control.timezone
            )
            override = apply_override(self._control, request)
        except CommandError as exc:
            return self._refuse(topic, "rejected", str(exc), ref)
        except Exception as exc:  # a bug must not end the command loop
            log.exception("MQTT command on %s failed", topic)
            return self._refuse(topic, "rejected", f"internal error: {type(exc).__name__}", ref)
        self._core.metrics.inc("gateway_mqtt_commands_total", sink=self.sink, result="applied")
        self._core.raise_event(
            Event(
                "mqtt_override",
                f"{subject[0]}/{subject[1]}",
                f"override {getattr(override, 'mode', '')} until {request.until.isoformat()} (MQTT)",
                self._core.clock.time_ns(),
            )
        )
        return Outcome("applied", override_id=getattr(override, "id", None), ref=request.ref)

    def _refuse(self, topic: str, result: str, reason: str, ref: str | None) -> Outcome:
        self._core.metrics.inc("gateway_mqtt_commands_total", sink=self.sink, result=result)
        now = self._core.clock.monotonic()
        notice = now - self._last_notice >= NOTICE_INTERVAL_S
        if notice:  # a flood is counted, not journaled (nor answered) message by message
            self._last_notice = now
            self._core.raise_event(
                Event("mqtt_command_rejected", topic[:200], reason[:500], self._core.clock.time_ns(), "warning")
            )
        return Outcome(result, reason=reason, ref=ref, answer=notice or result != "rate_limited")
