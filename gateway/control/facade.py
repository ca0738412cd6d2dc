"""The control façade: what the admin page (Flask, its own thread) and MQTT commands may see and change.

This is the ONLY way other subsystems reach heating and lighting control. Everything it returns
is an immutable view (frozen dataclasses); everything it changes is validated first, applied at
once (the rules re-evaluate before the call returns when the daemon runs), persisted in the
settings store (``<state_dir>/settings.sqlite``) and written to the audit log.

Threading (how it is safe to call from any thread):
- **reads** (:meth:`Control.overview`, :meth:`Control.zone`, :meth:`Control.circuit`,
  :meth:`Control.audit_log`) never touch the event loop: they read the last published
  evaluation (an immutable object swapped atomically by the loop), the state store's snapshot
  (locked copy), and the settings store (its own lock);
- **changes** are validated in the caller's thread (a :class:`ValidationError` is raised there,
  nothing is applied), then *marshalled into the event loop* with
  ``asyncio.run_coroutine_threadsafe`` and awaited (5 s timeout), where the settings store is
  written, the audit row added and the rules re-evaluated. Called from the loop thread itself
  (MQTT commands), they run inline. With no loop attached (tools, tests of the web page without
  a daemon) they run inline under the store's lock.

Public API (all times are timezone-aware ``datetime``; naive ones are refused)::

    control.overview() -> Overview                         # zones, circuits, meters, alerts
    control.zone(building, zone) -> ZoneDetail              # status + week, exceptions, overrides, bounds
    control.circuit(circuit) -> CircuitDetail               # status + overrides + today's sun times
    control.set_week_schedule(building, zone, periods, *, user)      # periods: Sequence[SchedulePeriod]
    control.save_period(building, zone, index, period, *, user)      # add (index None), edit or move one
    control.remove_period(building, zone, index, *, user)
    control.copy_day(building, zone, source, targets, *, user)       # each edit: one change, all or nothing
    control.reset_week_schedule(building, zone, *, user)             # back to the configured one
    control.add_exception(building, zone, start, end, label, periods=(), *, user) -> ScheduleException
    control.remove_exception(exception_id, *, user)
    control.add_override(building, zone, *, mode=None, start=None, end, label="", user, setpoint_c=None) -> Override
                                                            # a booking: a mode OR a setpoint (°C, within
                                                            # ZoneDetail.setpoint_min_c..max_c); start defaults to now
    control.add_lighting_override(circuit, *, on, start=None, end, label="", user) -> Override
    control.cancel_override(override_id, *, user)           # zone or lighting override
    control.acknowledge_leak(meter, *, user)                # clear a leak alarm (it re-arms)
    control.audit_log(limit=100) -> list[AuditEntry]        # newest first
    control.record_action(user, action, subject, old, new)  # audit row for a change made elsewhere (accounts)
    control.modes -> tuple[str, ...]                        # confort, reduit, hors_gel, arret
    control.timezone -> ZoneInfo                            # the site's time zone (for forms)

Bounds: every change is held to :mod:`gateway.control.bounds`, whichever door it came through (the
admin page, MQTT commands, tools): overrides and bookings start at most a day ago and end at most
366 days ahead (180 days long at most), exceptions lie between yesterday and two years ahead, a
zone or circuit holds at most 20 pending overrides and 100 pending exceptions.

Errors: :class:`ControlBusyError` (the loop did not take the change within 5 s; nothing applied),
:class:`ValidationError` (``errors``: field name -> message, in French-neutral plain
words; the web page shows each next to its field), :class:`UnknownSubjectError` (no such
building/zone/circuit/override; also a ``KeyError``).

Example::

    ctl = daemon_control                      # built by gateway.services.control.build()
    ctl.add_override("salle", "grande_salle", mode="confort",
                     start=datetime(2026, 11, 28, 14, tzinfo=paris),
                     end=datetime(2026, 11, 28, 23, tzinfo=paris),
                     label="Loto", user="secretaire")
    ctl.zone("salle", "grande_salle").status.reason   # "heating on: ... (booking 'Loto') ..."
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import threading
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from gateway.control import bounds, weeks
from gateway.control.values import (
    AuditEntry,
    CircuitDetail,
    ControlBusyError,
    Evaluation,
    Override,
    Overview,
    ScheduleException,
    SchedulePeriod,
    UnknownSubjectError,
    ValidationError,
    ZoneDetail,
)
from gateway.control.views import Views

if TYPE_CHECKING:
    from gateway.config import GatewayConfig
    from gateway.control.settings_store import SettingsStore

T = TypeVar("T")

#: How long a change from another thread may wait for the loop before giving up.
CHANGE_TIMEOUT_S = 5.0


# ---- the façade ---------------------------------------------------------------------------------
class Control:
    """Thread-safe façade over the settings store and the control loop (see the module docstring)."""

    def __init__(
        self,
        *,
        config: GatewayConfig,
        store: SettingsStore,
        now: Callable[[], datetime],
        state: Any = None,
        reevaluate: Callable[[], object] | None = None,
    ) -> None:
        self.config = config
        self._store = store
        self._now = now
        self._state = state  # gateway.state.StateStore (thread-safe snapshots) or None
        self._reevaluate = reevaluate
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.RLock()
        self._views = Views(config)
        self.latest: Evaluation | None = None  # swapped atomically by the control loop
        #: False while the rules fail and the outputs are held at their safe level (set by the loop)
        self.rules_ok = True

    # ---- wiring (called by gateway.services.control) ---------------------------------------
    def attach(self, loop: asyncio.AbstractEventLoop, reevaluate: Callable[[], object]) -> None:
        """Marshal changes into ``loop`` and call ``reevaluate()`` there after each change."""
        self._loop = loop
        self._reevaluate = reevaluate

    def detach(self) -> None:
        """The loop is stopping: changes run inline from now on."""
        self._loop = None

    def publish(self, evaluation: Evaluation) -> None:
        """Called by the loop after each evaluation."""
        self.latest = evaluation

    @property
    def timezone(self) -> ZoneInfo:
        """The site's time zone."""
        return ZoneInfo(self.config.site.timezone)

    @property
    def modes(self) -> tuple[str, ...]:
        """Heating modes a zone schedule or override may use."""
        return self._views.modes

    # ---- reads -----------------------------------------------------------------------------
    def overview(self) -> Overview:
        """Zones, circuits, meters and alerts as of the last evaluation (``evaluated_at`` is ``None``
        while the rules fail: the zones shown are the last good evaluation's)."""
        snapshot = self._state.snapshot() if self._state is not None else None
        view = self._views.overview(self.latest, snapshot)
        if not self.rules_ok:  # the last good evaluation is not current: /health says "not evaluated"
            view = dataclasses.replace(view, evaluated_at=None)
        return view

    def zone(self, building: str, zone: str) -> ZoneDetail:
        """One zone's status, schedule, exceptions and overrides."""
        self._views.check_zone(building, zone)
        now = self._now()
        return self._views.zone_detail(building, zone, self.latest, self._store, now)

    def circuit(self, circuit: str) -> CircuitDetail:
        """One lighting circuit's status and overrides."""
        self._views.check_circuit(circuit)
        return self._views.circuit_detail(circuit, self.latest, self._store, self._now())

    def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        """The newest ``limit`` changes, newest first."""
        return self._store.audit(limit=max(1, min(limit, 10_000)))

    # ---- changes ---------------------------------------------------------------------------
    def set_week_schedule(self, building: str, zone: str, periods: Sequence[SchedulePeriod], *, user: str) -> None:
        """Replace a zone's weekly schedule (layered over the configured default)."""
        self._views.check_zone(building, zone)
        clean = self._views.validate_periods(periods)
        self._change(lambda: self._store.set_week(f"{building}/{zone}", clean, user=user, now=self._now()))

    def save_period(
        self, building: str, zone: str, index: int | None, period: SchedulePeriod, *, user: str
    ) -> None:
        """Add a period to a zone's week (``index`` None) or replace period ``index`` (edit or move)."""
        self._edit_week(building, zone, lambda week: weeks.with_period(week, index, period), user=user)

    def remove_period(self, building: str, zone: str, index: int, *, user: str) -> None:
        """Remove period ``index`` of a zone's week."""
        self._edit_week(building, zone, lambda week: weeks.without_period(week, index), user=user)

    def copy_day(self, building: str, zone: str, source: int, targets: Sequence[int], *, user: str) -> None:
        """Replace the periods of each target day with a copy of the source day's."""
        days = tuple(targets)
        self._edit_week(building, zone, lambda week: weeks.with_day_copied(week, source, days), user=user)

    def _edit_week(self, building: str, zone: str, edit: Callable[[weeks.Week], weeks.Week], *, user: str) -> None:
        """Read the week, edit it, validate and store it in one change: all of it applies or none."""
        self._views.check_zone(building, zone)

        def apply() -> None:
            clean = self._views.validate_periods(edit(self._views.week(building, zone, self._store)))
            self._store.set_week(f"{building}/{zone}", clean, user=user, now=self._now())

        self._change(apply)

    def reset_week_schedule(self, building: str, zone: str, *, user: str) -> None:
        """Forget the edited schedule: the configured one applies again."""
        self._views.check_zone(building, zone)
        self._change(lambda: self._store.reset_week(f"{building}/{zone}", user=user, now=self._now()))

    def add_exception(  # noqa: PLR0917 - the web page calls it positionally
        self,
        building: str,
        zone: str,
        start: date,
        end: date,
        label: str,
        periods: Sequence[SchedulePeriod] = (),
        *,
        user: str,
    ) -> ScheduleException:
        """Dated days following other periods (empty: unoccupied), e.g. school holidays."""
        self._views.check_zone(building, zone)
        now = self._now()
        today = now.astimezone(self.timezone).date()
        errors: dict[str, str] = {}
        bounds.check_days(start, end, today, errors)
        label = bounds.check_label(label, errors)
        try:
            clean = self._views.validate_periods(periods)
        except ValidationError as exc:
            errors.update(exc.errors)
            clean = ()
        if errors:
            raise ValidationError(errors)
        key = f"{building}/{zone}"

        def apply() -> ScheduleException:
            pending = sum(1 for e in self._store.exceptions(key) if e.end >= today)
            if full := bounds.check_room(pending, bounds.MAX_PENDING_EXCEPTIONS, "exceptions"):
                raise ValidationError(full)
            return self._store.add_exception(key, start, end, label, clean, user=user, now=now)

        return self._change(apply)

    def remove_exception(self, exception_id: int, *, user: str) -> None:
        """Delete an exception."""
        self._change(lambda: self._store.remove_exception(exception_id, user=user, now=self._now()))

    def add_override(
        self,
        building: str,
        zone: str,
        *,
        mode: str | None = None,
        start: datetime | None = None,
        end: datetime,
        label: str = "",
        user: str,
        setpoint_c: float | None = None,
    ) -> Override:
        """Book or override a zone from ``start`` (default now) to ``end``: in ``mode`` (its setpoint)
        or at ``setpoint_c`` °C (within the zone's bounds: hors-gel .. ``max_setpoint_c``, 19 °C
        unless configured). Exactly one of the two."""
        self._views.check_zone(building, zone)
        now = self._now()
        errors: dict[str, str] = {}
        if mode is None and setpoint_c is None:
            errors["mode"] = "give a mode or a setpoint"
        elif mode is not None and setpoint_c is not None:
            errors["setpoint_c"] = "give a mode or a setpoint, not both"
        elif mode is not None and mode not in self.modes:
            errors["mode"] = f"unknown mode {mode!r}; expected one of {', '.join(self.modes)}"
        elif setpoint_c is not None:
            setpoint_c = self._views.check_setpoint(building, zone, setpoint_c, errors)
        begin, finish = bounds.check_span(start, end, now, errors)
        label = bounds.check_label(label, errors)
        if errors:
            raise ValidationError(errors)
        return self._change(
            lambda: self._add_override(
                "zone", f"{building}/{zone}", begin, finish, label, mode=mode, on=None, user=user, now=now,
                setpoint_c=setpoint_c,
            )
        )  # fmt: skip

    def add_lighting_override(
        self,
        circuit: str,
        *,
        on: bool,
        start: datetime | None = None,
        end: datetime,
        label: str = "",
        user: str,
    ) -> Override:
        """Force a lighting circuit on or off from ``start`` (default now) to ``end``."""
        self._views.check_circuit(circuit)
        now = self._now()
        errors: dict[str, str] = {}
        if not isinstance(on, bool):
            errors["on"] = "on must be true or false"
        begin, finish = bounds.check_span(start, end, now, errors)
        label = bounds.check_label(label, errors)
        if errors:
            raise ValidationError(errors)
        return self._change(
            lambda: self._add_override("lighting", circuit, begin, finish, label, mode=None, on=on, user=user, now=now)
        )

    def _add_override(
        self, kind: str, subject: str, begin: datetime, finish: datetime, label: str, *, now: datetime, **what: Any
    ) -> Override:
        """In the loop (or under the lock): refuse when the subject already holds its share, else store."""
        pending = sum(1 for o in self._store.active_overrides(now) if o.kind == kind and o.subject == subject)
        if full := bounds.check_room(pending, bounds.MAX_PENDING_OVERRIDES, "overrides"):
            raise ValidationError(full)
        return self._store.add_override(kind, subject, begin, finish, label, now=now, **what)

    def acknowledge_leak(self, meter: str, *, user: str) -> None:
        """A person checked a leak alarm: it is cleared (raised again if the leak goes on)."""
        if meter not in self.config.leaks.meters:
            raise UnknownSubjectError(f"water meter {meter}")
        self._change(lambda: self._store.acknowledge_leak(meter, user=user, now=self._now()))

    def cancel_override(self, override_id: int, *, user: str) -> None:
        """End an override now (it stays in the audit log)."""
        self._change(lambda: self._store.cancel_override(override_id, user=user, now=self._now()))

    def record_action(self, user: str, action: str, subject: str, old: str, new: str) -> None:
        """Write a change made outside control (an account added or removed, a password changed) to
        the same audit log, so "Journal des actions" has one source. Nothing is re-evaluated; the
        store's own lock makes this safe from any thread without the loop."""
        errors: dict[str, str] = {}
        texts = {"user": user, "action": action, "subject": subject, "old": old, "new": new}
        for name, value in texts.items():
            if not isinstance(value, str):
                errors[name] = "must be text"
            elif len(value) > 500 or any(ord(c) < 32 for c in value):
                errors[name] = "at most 500 characters, no control characters"
        if not action or not isinstance(action, str):
            errors.setdefault("action", "the action is required")
        if errors:
            raise ValidationError(errors)
        self._store.record(user=user, action=action, subject=subject, old=old, new=new, now=self._now())

    # ---- marshalling -----------------------------------------------------------------------
    def _change(self, apply: Callable[[], T]) -> T:
        """Run ``apply`` then re-evaluate, in the loop thread; wait for it from other threads."""

        def job() -> T:
            result = apply()
            if self._reevaluate is not None and self._loop is not None:
                self._reevaluate()
            return result

        loop = self._loop
        if loop is None or not loop.is_running() or _running_loop() is loop:
            with self._lock:
                return job()

        gate = threading.Lock()
        started = abandoned = False

        async def in_loop() -> T | None:
            nonlocal started
            with gate:
                if abandoned:  # the caller gave up: apply nothing
                    return None
                started = True
            return job()

        future = asyncio.run_coroutine_threadsafe(in_loop(), loop)
        try:
            return future.result(timeout=CHANGE_TIMEOUT_S)  # type: ignore[return-value]
        except concurrent.futures.TimeoutError as exc:
            with gate:
                if not started:
                    abandoned = True
                    # not cancelled: the coroutine still runs once, sees `abandoned` and applies nothing
                    # (a cancelled one would never be awaited: a RuntimeWarning in the log)
                    raise ControlBusyError("the control loop is busy; nothing was changed, try again") from exc
            return future.result()  # type: ignore[return-value]  # started: one transaction, one evaluation


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
