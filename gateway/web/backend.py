"""The web's only door to the core: a narrow, thread-safe façade for the Flask thread.

Rules of this module:
- reads come from immutable snapshots (the control façade's views, ``StateStore.snapshot()``,
  ``Metrics.items()``, ``Journal.stats()``, the hourly archive's own connection); nothing here
  touches the event loop except through :class:`gateway.control.facade.Control`, which marshals
  changes into it;
- schedule edits (edit/move/remove a period, copy a day) are the façade's (shared with MQTT and
  tools): each is one change there, the whole of it applies or none;
- everything the admin page shows about the system (devices, journal, sinks, clock, disk) is
  assembled here into plain frozen values, so templates only format.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import threading
import time as _time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gateway import __version__
from gateway.config import GatewayConfig
from gateway.control.values import AuditEntry
from gateway.metrics import Metrics
from gateway.report.door import Reports
from gateway.report.meters import EnergyRow, MeterTotals
from gateway.state import StateStore
from gateway.web.archive_adapter import hourly_means

log = logging.getLogger("gateway.web.backend")


# ---- system views -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DeviceRow:
    """One device as the Système page shows it."""

    device: str
    building: str | None
    kind: str
    last_seen_ns: int | None
    available: bool
    error: str | None
    errors: int


@dataclass(frozen=True, slots=True)
class SinkRow:
    """One sink's delivery state."""

    name: str
    backlog: int | None
    lag_s: float | None
    last_success_ns: int | None
    dropped: int | None
    rejected: int | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class SystemView:
    """Everything on the Système page."""

    version: str
    uptime_s: float
    now_ns: int
    clock_synchronised: bool | None
    clock_detail: str | None
    devices: tuple[DeviceRow, ...]
    journal: dict[str, Any]
    sinks: tuple[SinkRow, ...]
    disk_total: int | None
    disk_free: int | None
    state_dir: str
    metrics: tuple[tuple[str, str, float], ...]  # (name, labels text, value) for the raw table


@dataclass(frozen=True, slots=True)
class AlertRow:
    """An alert for the top of the overview."""

    time: datetime
    kind: str
    subject: str
    message: str
    severity: str


#: A sink whose oldest undelivered point is older than this is shown as an alert.
SINK_LAG_ALERT_S = 3600.0


@dataclass(frozen=True, slots=True)
class Series:
    """A chart series: timestamps (s) and values (None where missing)."""

    key: str
    times: tuple[int, ...]
    values: tuple[float | None, ...]


# ---- the backend --------------------------------------------------------------------------------
class Backend:
    """What the admin page may read and change; safe to call from waitress's worker threads."""

    def __init__(
        self,
        *,
        config: GatewayConfig,
        control: Any,
        metrics: Metrics,
        state: StateStore,
        clock_now_ns: Callable[[], int] = _time.time_ns,
        journal: Any = None,
        archive: Any = None,
        clock_status: Callable[[], tuple[bool | None, str | None]] | None = None,
        started_monotonic: float | None = None,
    ) -> None:
        self.config = config
        self.tz = ZoneInfo(config.site.timezone)
        self.control = control
        self.metrics = metrics
        self.state = state
        self._started = _time.monotonic() if started_monotonic is None else started_monotonic
        self.journal = journal
        self.archive = archive
        self._now_ns = clock_now_ns
        self._clock_status = clock_status
        self._meters = MeterTotals(config=config, archive=archive, now=self.now)
        self.reports = Reports(config=config, archive=archive, now=self.now)  # Énergie signatures, public page
        self._web_audit = Path(config.service.state_dir) / "web-audit.jsonl"

    # ---- time -----------------------------------------------------------------------------
    def now(self) -> datetime:
        """Now, aware, in the site's time zone."""
        return datetime.fromtimestamp(self._now_ns() / 1e9, UTC).astimezone(self.tz)

    # ---- control pass-through (reads) ------------------------------------------------------
    def overview(self) -> Any:
        return self.control.overview()

    def zone(self, building: str, zone: str) -> Any:
        return self.control.zone(building, zone)

    def circuits(self) -> list[Any]:
        return [self.control.circuit(cid) for cid in self.config.lighting.circuits]

    def circuit(self, circuit: str) -> Any:
        return self.control.circuit(circuit)

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(self.control.modes)

    # ---- schedule edits (the façade's: one change each, all or nothing) ------------------
    def save_period(self, building: str, zone: str, index: int | None, period: Any, *, user: str) -> None:
        """Add a period (``index`` None) or replace period ``index`` (edit or move)."""
        self.control.save_period(building, zone, index, period, user=user)

    def remove_period(self, building: str, zone: str, index: int, *, user: str) -> None:
        self.control.remove_period(building, zone, index, user=user)

    def copy_day(self, building: str, zone: str, source: int, targets: Sequence[int], *, user: str) -> None:
        """Replace the periods of each target day with a copy of the source day's."""
        self.control.copy_day(building, zone, source, targets, user=user)

    def reset_week(self, building: str, zone: str, *, user: str) -> None:
        self.control.reset_week_schedule(building, zone, user=user)

    def add_exception(self, building: str, zone: str, first: date, last: date, label: str, *, user: str) -> Any:
        return self.control.add_exception(building, zone, first, last, label, (), user=user)

    def remove_exception(self, exception_id: int, *, user: str) -> None:
        self.control.remove_exception(exception_id, user=user)

    def add_override(self, building: str, zone: str, **kwargs: Any) -> Any:
        return self.control.add_override(building, zone, **kwargs)

    def add_lighting_override(self, circuit: str, **kwargs: Any) -> Any:
        return self.control.add_lighting_override(circuit, **kwargs)

    def cancel_override(self, override_id: int, *, user: str) -> None:
        self.control.cancel_override(override_id, user=user)

    # ---- action log -------------------------------------------------------------------------
    def actions(self, limit: int = 200) -> list[AuditEntry]:
        """Control changes and account changes, newest first."""
        rows: list[AuditEntry] = list(self.control.audit_log(limit))
        rows.extend(self._web_actions(limit))
        rows.sort(key=lambda r: r.time, reverse=True)
        return rows[:limit]

    def record_action(self, user: str, action: str, subject: str, old: str, new: str) -> None:
        """Record an account change (user added/removed, password changed) in the control audit log."""
        self.control.record_action(user, action, subject, old, new)

    def _web_actions(self, limit: int) -> list[AuditEntry]:
        """Account changes an older version wrote to ``web-audit.jsonl`` (read, never written now)."""
        try:
            lines = self._web_audit.read_text(encoding="utf-8").splitlines()[-limit:]
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                raw = json.loads(line)
                out.append(
                    AuditEntry(
                        0,  # not a row of the settings store
                        datetime.fromisoformat(raw["time"]),
                        raw["user"],
                        raw["action"],
                        raw["subject"],
                        raw["old"],
                        raw["new"],
                    )
                )
        return out

    # ---- system -----------------------------------------------------------------------------
    def system(self) -> SystemView:
        """The Système page: devices, journal and sinks, clock, disk, version."""
        snapshot = self.state.snapshot()
        synced, detail = self._clock_status() if self._clock_status else (None, None)
        disk_total = disk_free = None
        state_dir = Path(self.config.service.state_dir)
        with contextlib.suppress(OSError):
            usage = shutil.disk_usage(state_dir if state_dir.exists() else state_dir.parent)
            disk_total, disk_free = usage.total, usage.free
        journal, sinks = self._journal_view()
        return SystemView(
            version=__version__,
            uptime_s=_time.monotonic() - self._started,
            now_ns=self._now_ns(),
            clock_synchronised=synced,
            clock_detail=detail,
            devices=tuple(self._devices(snapshot)),
            journal=journal,
            sinks=tuple(sinks),
            disk_total=disk_total,
            disk_free=disk_free,
            state_dir=str(state_dir),
            metrics=tuple(
                (name, ",".join(f"{k}={v}" for k, v in labels), value)
                for name, _kind, _help, labels, value in self.metrics.items()
            ),
        )

    def _configured_devices(self) -> Iterable[tuple[str, str | None, str]]:
        for bus_id, bus in self.config.buses.items():
            for device in getattr(bus, "devices", ()):
                yield device.id, getattr(device, "building", None), f"modbus {bus_id}"
        for sensor in self.config.ble.sensors:
            yield sensor.id, sensor.building, "ble"
        for gid, relay in self.config.gpio.relays.items():
            yield gid, relay.building, "gpio relay"
        for gid, item in self.config.gpio.inputs.items():
            yield gid, item.building, "gpio input"

    def _devices(self, snapshot: Any) -> list[DeviceRow]:
        last_seen: dict[str, int] = {}
        for (device, _field), sample in snapshot.samples.items():
            last_seen[device] = max(last_seen.get(device, 0), sample.time_ns)
        errors: dict[str, float] = {}
        for name, _kind, _help, labels, value in self.metrics.items():
            label_map = dict(labels)
            if "device" in label_map and ("error" in name or "timeout" in name or "fail" in name):
                errors[label_map["device"]] = errors.get(label_map["device"], 0) + value
        rows: list[DeviceRow] = []
        seen: set[str] = set()
        for device, building, kind in self._configured_devices():
            seen.add(device)
            unavailable = snapshot.unavailable.get(device)
            rows.append(
                DeviceRow(
                    device=device,
                    building=building,
                    kind=kind,
                    last_seen_ns=last_seen.get(device),
                    available=unavailable is None and device in last_seen,
                    error=unavailable.error if unavailable else None,
                    errors=int(errors.get(device, 0)),
                )
            )
        return rows

    def _journal_view(self) -> tuple[dict[str, Any], list[SinkRow]]:
        if self.journal is None or not hasattr(self.journal, "stats"):
            return {}, []
        try:
            stats = self.journal.stats()
        except Exception as exc:  # a storage error must not break the page
            log.warning("journal stats unavailable: %s", exc)
            return {"error": str(exc)}, []
        journal = {
            key: getattr(stats, key)
            for key in (
                "rows",
                "bytes_on_disk",
                "budget_bytes",
                "buffered",
                "last_commit_ns",
                "write_errors",
                "buffer_overflow",
                "over_budget",
                "durable",
                "write_failing",
            )
            if hasattr(stats, key)
        }
        sinks = []
        for name, sink in sorted(_sink_items(stats)):
            sinks.append(
                SinkRow(
                    name=name,
                    backlog=_attr(sink, "backlog"),
                    lag_s=_attr(sink, "lag_s"),
                    last_success_ns=_attr(sink, "last_success_ns"),
                    dropped=_attr(sink, "dropped"),
                    rejected=_attr(sink, "rejected"),
                    last_error=_attr(sink, "last_error"),
                )
            )
        return journal, sinks

    # ---- alerts -----------------------------------------------------------------------------
    def alerts(self, overview: Any) -> list[AlertRow]:
        """The rules' alerts (leaks, stale sensors, fail-safe) plus the sinks' trouble, worst first."""
        rows = [AlertRow(a.time, a.kind, a.subject, a.message, a.severity) for a in overview.alerts]
        _journal, sinks = self._journal_view()
        now = self.now()
        for sink in sinks:
            if sink.dropped:
                rows.append(AlertRow(now, "sink_dropped", sink.name, f"{sink.dropped}", "alarm"))
            elif sink.lag_s is not None and sink.lag_s > SINK_LAG_ALERT_S:
                rows.append(AlertRow(now, "sink_backlog", sink.name, f"{sink.backlog or 0}", "warning"))
        order = {"alarm": 0, "warning": 1, "info": 2}
        rows.sort(key=lambda r: (order.get(r.severity, 3), -r.time.timestamp()))
        return rows

    # ---- health -----------------------------------------------------------------------------
    def health(self) -> tuple[dict[str, Any], bool]:
        """A small JSON body for monitoring (no names, no configuration) and whether all is well."""
        snapshot = self.state.snapshot()
        journal, sinks = self._journal_view()
        overview = None
        with contextlib.suppress(Exception):
            overview = self.control.overview()
        alarms = sum(1 for a in overview.alerts if a.severity == "alarm") if overview else None
        body: dict[str, Any] = {
            "status": "ok",
            "version": __version__,
            "uptime_s": round(_time.monotonic() - self._started, 1),
            "time": datetime.fromtimestamp(self._now_ns() / 1e9, UTC).isoformat(timespec="seconds"),
            "devices_unavailable": len(snapshot.unavailable),
            "rules_evaluated": bool(overview and overview.evaluated_at),
            "alarms": alarms,
            "journal_ok": "error" not in journal and not journal.get("write_failing"),
            "sink_backlog_max": max((s.backlog or 0 for s in sinks), default=0),
        }
        synced, _detail = self._clock_status() if self._clock_status else (None, None)
        body["clock_synchronised"] = synced
        healthy = body["journal_ok"]
        rules_ok = bool(getattr(self.control, "rules_ok", True))
        body["rules_ok"] = rules_ok  # False while failing evaluations hold the outputs at their safe levels
        if not healthy:
            body["status"] = "failing"
        elif snapshot.unavailable or alarms or synced is False or not rules_ok:
            body["status"] = "degraded"
        return body, healthy

    # ---- history (hourly archive) -------------------------------------------------------------
    def zone_history(self, building: str, zone: str, *, days: int = 7) -> dict[str, Any]:
        """Chart data for a zone: temperature, target, heater on fraction, outdoor temperature."""
        heating = self.config.buildings[building].zones[zone].heating
        end = self.now()
        start = end - timedelta(days=days)
        series: dict[str, Series] = {}
        if heating is not None and self.archive is not None:
            series["temperature"] = self._mean_of(heating.sensors, "temperature_c", start, end)
            if heating.outdoor_sensor:
                series["outdoor"] = self._mean_of([heating.outdoor_sensor], "temperature_c", start, end)
            # the control loop samples each zone's heater_on (0/1) every tick: the hourly mean is the duty
            series["heater"] = self._zone_series(building, zone, "heater_on", start, end)
            series["target"] = self._zone_series(building, zone, "target_c", start, end)
        return _align(series, start, end)

    def _mean_of(self, devices: Sequence[str], fld: str, start: datetime, end: datetime) -> Series:
        hours: dict[int, list[float]] = {}
        for device in devices:
            for t, value in self._archive_hourly(device=device, field=fld, start=start, end=end):
                hours.setdefault(t, []).append(value)
        keys = sorted(hours)
        return Series(fld, tuple(keys), tuple(sum(hours[k]) / len(hours[k]) for k in keys))

    def _zone_series(self, building: str, zone: str, fld: str, start: datetime, end: datetime) -> Series:
        points = self._archive_hourly(
            device=f"{building}/{zone}", field=fld, start=start, end=end, by_zone=(building, zone)
        )
        return Series(fld, tuple(t for t, _ in points), tuple(v for _, v in points))

    def _archive_hourly(
        self, *, device: str, field: str, start: datetime, end: datetime, by_zone: tuple[str, str] | None = None
    ) -> list[tuple[int, float]]:
        """``(hour start epoch s, mean)`` pairs from the archive (adapter over gateway.archive)."""
        if self.archive is None:
            return []
        try:
            return hourly_means(self.archive, device=device, field=field, start=start, end=end, by_zone=by_zone)
        except Exception as exc:
            log.warning("archive read failed for %s.%s: %s", device, field, exc)
            return []

    # ---- energy (gateway.report) -----------------------------------------------------------------
    def warm(self, *, public: bool) -> None:
        """Fill the Énergie (and public) pages' caches in background threads, before any visitor."""
        threading.Thread(target=self._meters.rows, name="energy-warm", daemon=True).start()
        self.reports.warm(public=public)

    def energy(self, *, brief: bool = False) -> list[EnergyRow]:
        """Per meter: today, yesterday, this week, this month and the same month last year
        (:meth:`gateway.report.meters.MeterTotals.rows`; ``brief``: the overview's three figures)."""
        self._meters.archive = self.archive
        return self._meters.rows(brief=brief)


# ---- helpers --------------------------------------------------------------------------------------
def _attr(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _sink_items(stats: Any) -> list[tuple[str, Any]]:
    sinks = _attr(stats, "sinks") or {}
    if isinstance(sinks, dict):
        return list(sinks.items())
    return [(getattr(s, "name", "?"), s) for s in sinks]







def _align(series: dict[str, Series], start: datetime, end: datetime) -> dict[str, Any]:
    """One shared hourly time axis (uPlot's data layout): ``{"t": [...], "<key>": [...]}``."""
    first = int(start.timestamp()) // 3600 * 3600
    last = int(end.timestamp()) // 3600 * 3600
    axis = list(range(first, last + 1, 3600))
    out: dict[str, Any] = {"t": axis}
    for key, s in series.items():
        by_time = dict(zip(s.times, s.values, strict=True))
        out[key] = [None if (v := by_time.get(t)) is None else round(v, 3) for t in axis]
    return out
