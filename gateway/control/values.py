"""The control façade's vocabulary: its errors and the immutable views it returns.

Rules of this module: frozen dataclasses and exception classes only, no behaviour beyond a view's
own predicate, no import of the rest of control (every other module of :mod:`gateway.control`
may import this one). The doors (the admin page, MQTT commands) catch these errors and show these
views; the settings store returns them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from gateway.errors import GatewayError

if TYPE_CHECKING:
    from rules.types import ModelSummary, Reason


# ---- errors -------------------------------------------------------------------------------------
class ValidationError(GatewayError, ValueError):
    """A change refused before anything was applied; ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class UnknownSubjectError(GatewayError, KeyError):
    """No such building/zone, lighting circuit or override."""

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(what)

    def __str__(self) -> str:
        return f"unknown {self.what}"


class ControlBusyError(GatewayError, TimeoutError):
    """The control loop did not take a change within :data:`CHANGE_TIMEOUT_S` (nothing applied)."""


# ---- views (immutable) --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SchedulePeriod:
    """One occupied period of a weekly schedule: ``day`` 0 = Monday .. 6 = Sunday, local times.

    ``end`` after ``start`` on the same day; ``end == time(0, 0)`` means "until midnight".
    """

    day: int
    start: time
    end: time
    mode: str = "confort"


@dataclass(frozen=True, slots=True)
class ScheduleException:
    """Dated days (inclusive) that follow ``periods`` instead of the week schedule.

    Empty ``periods``: unoccupied all day (school holidays, public holidays).
    """

    id: int
    start: date
    end: date
    label: str
    periods: tuple[SchedulePeriod, ...] = ()


@dataclass(frozen=True, slots=True)
class Override:
    """A booking or manual override, expiring by itself at ``end``.

    Zones: ``mode`` (the zone's setpoint of that mode applies) or ``setpoint_c`` (that temperature;
    ``mode`` is then ``None``). Lighting circuits: ``on``.
    """

    id: int
    kind: str  # "zone" | "lighting"
    subject: str  # "building/zone" or circuit id
    start: datetime
    end: datetime
    label: str
    user: str
    created: datetime
    mode: str | None = None
    on: bool | None = None
    setpoint_c: float | None = None

    def active_at(self, now: datetime) -> bool:
        """Whether this override applies at ``now``."""
        return self.start <= now < self.end


@dataclass(frozen=True, slots=True)
class ZoneStatus:
    """What a zone is doing now and why (from the last rules evaluation)."""

    building: str
    building_name: str
    zone: str
    name: str
    temperature_c: float | None
    temperature_time: datetime | None
    stale: bool
    target_c: float | None
    mode: str | None
    heater_on: bool | None
    window_open: bool
    reason: str
    outputs: tuple[tuple[str, bool], ...] = ()
    #: the structured reason (code + parameters): ``reason_detail.text("en")`` renders it in English
    reason_detail: Reason | None = None
    #: the zone model's summary (learned or prior figures, next preheat and its lead), if it has one
    model: ModelSummary | None = None


@dataclass(frozen=True, slots=True)
class CircuitStatus:
    """A lighting circuit now and why."""

    circuit: str
    name: str
    building: str | None
    on: bool | None
    reason: str
    sunrise: datetime | None = None
    sunset: datetime | None = None
    reason_detail: Reason | None = None  # structured reason, as on ZoneStatus


@dataclass(frozen=True, slots=True)
class MeterStatus:
    """A meter's latest readings."""

    device: str
    building: str | None
    zone: str | None
    power_w: float | None
    energy_kwh: float | None
    time: datetime | None
    available: bool = True
    water_m3: float | None = None  # a water meter's counter
    flow_m3_h: float | None = None  # its flow over the last ~15 min (counter increase per hour)


@dataclass(frozen=True, slots=True)
class Alert:
    """An event someone should see (leak, stale sensor, fail-safe, sink backlog)."""

    time: datetime
    kind: str
    subject: str
    message: str
    severity: str


@dataclass(frozen=True, slots=True)
class Overview:
    """Everything on the "Vue d'ensemble" page."""

    site_id: str
    site_name: str
    evaluated_at: datetime | None
    zones: tuple[ZoneStatus, ...]
    circuits: tuple[CircuitStatus, ...]
    meters: tuple[MeterStatus, ...]
    alerts: tuple[Alert, ...]


@dataclass(frozen=True, slots=True)
class ZoneDetail:
    """A zone's page: status, editable schedule and overrides, and the bounds forms validate with."""

    status: ZoneStatus
    week: tuple[SchedulePeriod, ...]
    week_is_default: bool
    exceptions: tuple[ScheduleException, ...]
    overrides: tuple[Override, ...]
    modes: tuple[str, ...]
    mode_setpoints: dict[str, float] = field(default_factory=dict)
    setpoint_min_c: float = 5.0
    setpoint_max_c: float = 19.0


@dataclass(frozen=True, slots=True)
class CircuitDetail:
    """A lighting circuit's page."""

    status: CircuitStatus
    overrides: tuple[Override, ...]
    night_cut: tuple[time, time] | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """Who changed what and when (old -> new, as short JSON texts)."""

    id: int
    time: datetime
    user: str
    action: str
    subject: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What the control loop publishes after each rules evaluation (read by :meth:`Control.overview`)."""

    at: datetime
    zones: tuple[ZoneStatus, ...]
    circuits: tuple[CircuitStatus, ...]
    alerts: tuple[Alert, ...]
    meter_flows: Mapping[str, float] = field(default_factory=dict)  # water meter -> m³/h
