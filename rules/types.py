"""The engine's inputs and outputs: what the shell hands to ``decide`` and what it gets back.

Rules of this module:
- inputs and outputs are frozen values; times are UTC nanoseconds (``*_ns``);
- ``Memory`` is everything the rules remember between ticks (learned heating rates, window-open
  since, leak night counters, active alarms). ``decide`` returns the updated memory; the shell
  persists it (:func:`memory_to_json` / :func:`memory_from_json`) and passes it back. With the same
  site, state and ``now`` the result is the same, after a restart too;
- a :class:`Reason` is structured (a code and parameters); ``rules.reasons`` renders it in French
  or English, so the admin page, the journal and MQTT can show the same words.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.model import Command, Event, FieldValue, Severity
from rules.config import Mode
from rules.reasons import render

ParamValue = str | int | float | bool


# ---- reasons -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reason:
    """Why: a code from ``rules.reasons.TEMPLATES`` and its parameters (sorted pairs)."""

    code: str
    params: tuple[tuple[str, ParamValue], ...] = ()

    @classmethod
    def of(cls, code: str, **params: ParamValue | None) -> Reason:
        """Build a reason, dropping ``None`` parameters."""
        return cls(code, tuple(sorted((k, v) for k, v in params.items() if v is not None)))

    def param(self, name: str) -> ParamValue | None:
        """One parameter, or ``None``."""
        return dict(self.params).get(name)

    def text(self, lang: str = "fr") -> str:
        """The reason in plain words (``"fr"`` or ``"en"``)."""
        return render(self, lang)


# ---- inputs ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SensorValue:
    """The latest value of one (device, field) and when it was measured."""

    value: float
    time_ns: int


@dataclass(frozen=True, slots=True)
class InputState:
    """A binary input (motion sensor, window contact): its level and the time of its last change."""

    active: bool
    since_ns: int


@dataclass(frozen=True, slots=True)
class RelayState:
    """A relay as it is now, and when it last switched (``None``: unknown, e.g. just booted)."""

    on: bool
    since_ns: int | None = None


@dataclass(frozen=True, slots=True)
class Booking:
    """A dated override of a zone's schedule: a booking ("Loto", Saturday 14:00–23:00 at confort)
    or a manual order ("heat the mairie now for 2 h"). It expires by itself at ``end_ns``."""

    zone: str  # "building/zone"
    start_ns: int
    end_ns: int
    mode: Mode = "confort"
    label: str = ""
    #: a temperature asked for instead of the mode's setpoint (°C); the engine keeps it within the
    #: zone's bounds (hors-gel .. ``max_setpoint_c``) and reads ``mode`` for occupancy and pilot wire
    setpoint_c: float | None = None
    #: an active use (sport, dancing): the zone's ``activities`` give its lower confort
    activity: str | None = None

    def __post_init__(self) -> None:
        if self.end_ns <= self.start_ns:
            raise ValueError(f"booking {self.label!r} for {self.zone}: end must be after start")
        if self.setpoint_c is not None and not math.isfinite(self.setpoint_c):
            raise ValueError(f"booking {self.label!r} for {self.zone}: the setpoint must be a finite number")

    def active(self, now_ns: int) -> bool:
        """Whether the booking covers ``now_ns``."""
        return self.start_ns <= now_ns < self.end_ns


@dataclass(frozen=True, slots=True)
class LightOverride:
    """A manual order for a lighting circuit (on or off) until ``end_ns``."""

    circuit: str
    start_ns: int
    end_ns: int
    on: bool
    label: str = ""

    def __post_init__(self) -> None:
        if self.end_ns <= self.start_ns:
            raise ValueError(f"override {self.label!r} for {self.circuit}: end must be after start")

    def active(self, now_ns: int) -> bool:
        """Whether the override covers ``now_ns``."""
        return self.start_ns <= now_ns < self.end_ns


# ---- memory (persisted by the shell) -----------------------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


#: one finished hour of the zone's log (rules.identify): (hour ns, air °C, outdoor °C, heater power 0..1
#: or None when unknown, occupancy 0..1)
LogRow = tuple[int, float, float, float | None, float]
#: the hour being filled (rules.identify.Acc)
LogAcc = tuple[int, float, float, float, float, float, float, int]


class ModelMemory(_Frozen):
    """The zone's learned heat balance (rules.thermal, rules.identify) and what is tracked with it."""

    #: identified normalised parameters (h_ao, h_am, h_mo, c_m, c_a, g, h_occ); ``None``: the prior
    params: tuple[float, float, float, float, float, float, float] | None = None
    rmse: float | None = None  # last fit's root-mean-square hourly imbalance (fraction of full power)
    hours: int = 0  # hours of history the last fit used
    fitted_to_ns: int | None = None  # start of the last hour the last fit used
    rows: tuple[LogRow, ...] = ()
    acc: LogAcc | None = None
    tm: float | None = None  # the structure's estimated temperature (°C) ...
    tm_ns: int | None = None  # ... at this time
    tm_since_ns: int | None = None  # since when the structure has been followed
    #: the air temperature the model estimates while the thermometer is silent (°C)
    virtual: float | None = None


class ZoneMemory(_Frozen):
    """What the rules remember about one zone."""

    model: ModelMemory = Field(default_factory=ModelMemory)
    #: recent (time_ns, mean temperature) samples, oldest first, for the slow warm-up limit
    history: tuple[tuple[int, float], ...] = ()
    #: recent ticks (time_ns, air °C, heater power fraction, structure °C) for window detection
    trace: tuple[tuple[int, float, float, float], ...] = ()
    #: the window detector's learning (rules.window.Stats)
    window_stats: tuple[float, float, float, float, float, int] | None = None
    window_open_since_ns: int | None = None
    #: the occupancy start (ns) a preheat is running for
    preheat_for_ns: int | None = None
    #: when the heater was cut for running its maximum continuous time (the ``heater_max_on``
    #: condition lasts until a fresh reading or until the heater has rested its minimum off time)
    max_on_since_ns: int | None = None
    #: the occupancy (its start, ns) someone was seen at (presence sensors)
    attended_ns: int | None = None
    #: in a deep setback, the temperature held once the recovery would grow too long (°C)
    setback_hold_c: float | None = None
    #: the occupancy (start ns) the zone coasts to the end of (optimum stop)
    coast_for_ns: int | None = None
    #: the arrival being judged (rules.arrival) and what the judged ones taught: a factor on every lead
    arrival: tuple[int, float, int] | None = None
    lead_factor: float = 1.0
    #: the occupancy being watched (rules.readiness) and how close to the target its structure must be
    #: at arrival (°C; ``None``: the prior)
    readiness: tuple[int, int, float, int, int] | None = None
    ready_gap_c: float | None = None


class LeakMemory(_Frozen):
    """Hourly water use of one meter and its night counters."""

    hour_start_ns: int | None = None  # start of the current local hour being measured
    hour_start_m3: float | None = None  # counter at the start of that hour
    partial: bool = True  # the current hour started before the first reading (not measured whole)
    #: finished hours (hour_start_ns, litres), the last 24 at most
    hours: tuple[tuple[int, float], ...] = ()
    night_date: str | None = None  # local date (ISO) of the night being watched
    night_min_l: float | None = None  # smallest hourly use seen in that night's window
    night_hours: int = 0  # how many night hours were seen
    nights: int = 0  # consecutive nights whose minimum use was above zero
    last_night_min_l: float | None = None
    alarm_since_ns: int | None = None  # latched until acknowledged


class Memory(_Frozen):
    """Everything remembered between ticks; JSON-serialisable."""

    version: int = 1
    zones: dict[str, ZoneMemory] = Field(default_factory=dict)
    leaks: dict[str, LeakMemory] = Field(default_factory=dict)
    #: alarms currently raised ("kind:subject"): an event is sent when one starts or ends
    alarms: tuple[str, ...] = ()


def shift_memory(memory: Memory, step_ns: int) -> Memory:
    """``memory`` with its measured wall-time stamps moved by ``step_ns`` (the wall clock stepped).

    Shifted: the temperature history, the model's hourly log and estimates, the window-open and
    maximum-run times: they date things that happened, so a step must keep their distance to ``now``.
    Not shifted: ``preheat_for_ns``, ``attended_ns``, ``coast_for_ns`` (scheduled starts, themselves
    wall time) and the leak counters (local hours of the wall clock).
    """
    if step_ns == 0:
        return memory

    def moved(value: int | None) -> int | None:
        return None if value is None else value + step_ns

    zones = {
        key: zone.model_copy(
            update={
                "history": tuple((t + step_ns, v) for t, v in zone.history),
                "trace": tuple((r[0] + step_ns, *r[1:]) for r in zone.trace),
                "window_stats": None
                if zone.window_stats is None
                else (*zone.window_stats[:5], zone.window_stats[5] + step_ns),
                "model": _moved_model(zone.model, step_ns),
                "window_open_since_ns": moved(zone.window_open_since_ns),
                "max_on_since_ns": moved(zone.max_on_since_ns),
            }
        )
        for key, zone in memory.zones.items()
    }
    return memory.model_copy(update={"zones": zones})


def _moved_model(model: ModelMemory, step_ns: int) -> ModelMemory:
    acc = model.acc
    return model.model_copy(
        update={
            "rows": tuple((r[0] + step_ns, *r[1:]) for r in model.rows),
            "acc": None if acc is None else (acc[0] + step_ns, *acc[1:7], acc[7] + step_ns),
            "tm_ns": None if model.tm_ns is None else model.tm_ns + step_ns,
            "tm_since_ns": None if model.tm_since_ns is None else model.tm_since_ns + step_ns,
            "fitted_to_ns": None if model.fitted_to_ns is None else model.fitted_to_ns + step_ns,
        }
    )


def memory_to_json(memory: Memory) -> str:
    """Serialise the memory for the shell to persist."""
    return memory.model_dump_json()


def memory_from_json(text: str | bytes | None) -> Memory:
    """Read persisted memory; anything unreadable gives a fresh memory (learning starts again)."""
    if not text:
        return Memory()
    try:
        return Memory.model_validate_json(text)
    except (ValidationError, json.JSONDecodeError, ValueError):
        return Memory()


@dataclass(frozen=True, slots=True)
class State:
    """The inputs of one decision, besides the site and ``now``.

    ``readings`` is keyed like ``gateway.state.Snapshot.samples``: ``(device, field)``.
    """

    readings: Mapping[tuple[str, str], SensorValue] = field(default_factory=lambda: MappingProxyType({}))
    inputs: Mapping[str, InputState] = field(default_factory=lambda: MappingProxyType({}))
    relays: Mapping[str, RelayState] = field(default_factory=lambda: MappingProxyType({}))
    bookings: tuple[Booking, ...] = ()
    light_overrides: tuple[LightOverride, ...] = ()
    #: leak alarms acknowledged by a person: meter -> when (an alarm raised before is cleared)
    leak_acks: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    memory: Memory = field(default_factory=Memory)
    #: whether ``now`` can be believed (gateway.clock_guard). When not, nothing hinges on the wall
    #: time: bookings, overrides and schedules are set aside and the site's safe modes apply
    clock_trusted: bool = True


# ---- outputs -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Action:
    """The desired state of one output (relay) and why."""

    output: str
    on: bool
    reason: Reason
    subject: str  # "zone:<building/zone>", "light:<circuit>", "valve:<meter>"

    def command(self, lang: str = "fr") -> Command:
        """As the shell's :class:`gateway.model.Command` (reason in words)."""
        return Command(output=self.output, on=self.on, reason=self.reason.text(lang))


@dataclass(frozen=True, slots=True)
class Notice:
    """An event the rules raise (stale sensor, window open, leak): code, subject and evidence."""

    kind: str  # event kind, e.g. "sensor_stale", "leak"
    subject: str
    severity: Severity
    reason: Reason
    evidence: tuple[tuple[str, FieldValue], ...] = ()

    def event(self, time_ns: int, lang: str = "fr") -> Event:
        """As a :class:`gateway.model.Event` (message in words, code and evidence as data)."""
        data = (("code", self.reason.code), *self.evidence)
        return Event(self.kind, self.subject, self.reason.text(lang), time_ns, self.severity, data)


HeatingState = Literal["heating", "idle", "off"]


@dataclass(frozen=True, slots=True)
class ModelSummary:
    """What the zone's model says, for the admin page: its figures and the next preheat."""

    tau_h: float  # the structure's time constant (h)
    ua_per_kw: float  # total loss per kW of heater (1/K)
    ua_kw_per_k: float | None  # total loss (kW/K), when the heater's power is declared
    learned: bool  # fitted from the zone's own history (else the prior)
    hours: int  # hours of history behind the fit
    rmse: float | None  # the fit's hourly imbalance (fraction of full power)
    structure_c: float | None  # the structure's estimated temperature
    estimated_c: float | None  # the air as the model estimates it while the thermometer is silent
    next_start_ns: int | None  # when heating should start for the next occupancy
    lead_h: float | None  # the lead predicted now (h)


@dataclass(frozen=True, slots=True)
class ZoneStatus:
    """One zone's decision, for the admin page and MQTT."""

    zone: str
    mode: Mode  # the mode in force (after bookings, preheat, window, fail-safe)
    target_c: float | None
    measured_c: float | None
    heating: bool  # heater on / order warmer than arrêt
    occupied: bool
    reason: Reason
    next_change_ns: int | None = None  # when the schedule changes next (ns)
    model: ModelSummary | None = None


@dataclass(frozen=True, slots=True)
class CircuitStatus:
    """One lighting circuit's decision."""

    circuit: str
    on: bool
    reason: Reason


@dataclass(frozen=True, slots=True)
class Decision:
    """Everything ``decide`` returns. ``actions`` covers every output the rules drive, sorted."""

    now_ns: int
    actions: tuple[Action, ...]
    zones: tuple[ZoneStatus, ...]
    circuits: tuple[CircuitStatus, ...]
    notices: tuple[Notice, ...]
    memory: Memory

    def desired(self) -> dict[str, bool]:
        """Output id -> desired level."""
        return {a.output: a.on for a in self.actions}

    def action(self, output: str) -> Action | None:
        """The action for one output, or ``None``."""
        return next((a for a in self.actions if a.output == output), None)

    def commands(self, lang: str = "fr") -> list[Command]:
        """The actions as shell commands."""
        return [a.command(lang) for a in self.actions]

    def events(self, lang: str = "fr") -> list[Event]:
        """The notices as shell events, dated ``now``."""
        return [n.event(self.now_ns, lang) for n in self.notices]
