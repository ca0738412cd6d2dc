"""Edits made on the admin page or over MQTT, layered over the configuration's defaults.

One SQLite file, ``<state_dir>/settings.sqlite`` (WAL, synchronous=FULL: edits are rare and
must survive a power cut). Tables:

- ``weeks``: a zone's edited weekly schedule (replaces the configured one until reset);
- ``exceptions``: dated periods with another schedule (holidays);
- ``overrides``: bookings and manual overrides with start and end (zones and lighting circuits);
  cancelling one ends it now (the row stays, for the record);
- ``audit``: who changed what and when, old -> new, kept (never pruned by the gateway);
- ``memory``: the rules engine's memory (learned warm-up rates, last switch times) as JSON.

Rules of this module: every change and its audit row are written in ONE transaction (nothing
half-applied); the connection is shared under a lock, so any thread may call; the schema is
versioned (``PRAGMA user_version``) with forward migrations; a file that cannot be opened
(corrupt, not a database, a newer schema) is moved aside by :meth:`SettingsStore.open` as
``settings.sqlite.corrupt-<UTC time>`` and a fresh one started (the configuration's schedules
apply; the edits are lost, and :attr:`SettingsStore.recovered` says so for an event); one that
is only locked, full or failing is left untouched and an in-memory store stands in (said too).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from gateway import storage
from gateway.control.values import AuditEntry, Override, ScheduleException, SchedulePeriod, UnknownSubjectError
from gateway.errors import StorageError
from gateway.sqlite_tx import rollback
from gateway.storage import Pragmas, Schema, UnusableFileError, is_corruption, move_aside, script

SCHEMA_VERSION = 2

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE weeks (subject TEXT PRIMARY KEY, periods TEXT NOT NULL);
    CREATE TABLE exceptions (
        id INTEGER PRIMARY KEY, subject TEXT NOT NULL, start TEXT NOT NULL, "end" TEXT NOT NULL,
        label TEXT NOT NULL, periods TEXT NOT NULL);
    CREATE TABLE overrides (
        id INTEGER PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL,
        start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, label TEXT NOT NULL,
        mode TEXT, "on" INTEGER,
        user TEXT NOT NULL, created_ns INTEGER NOT NULL);
    CREATE INDEX overrides_end ON overrides (end_ns);
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY, time_ns INTEGER NOT NULL, user TEXT NOT NULL, action TEXT NOT NULL,
        subject TEXT NOT NULL, old TEXT NOT NULL, new TEXT NOT NULL);
    CREATE TABLE memory (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # a booking at a temperature (°C) instead of a mode's setpoint
    2: """
    ALTER TABLE overrides ADD COLUMN setpoint_c REAL;
    """,
}


SCHEMA = Schema("settings", SCHEMA_VERSION, {version - 1: script(sql) for version, sql in _MIGRATIONS.items()})
PRAGMAS = Pragmas(synchronous="FULL")  # WAL, fsync at each commit: an edit survives a power cut
_CHECK_BELOW = 64 * 1024 * 1024  # a settings file is small: fully checked at every open


def _ns(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000) * 1000


def _dt(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


def _periods_json(periods: Iterable[SchedulePeriod]) -> str:
    return json.dumps(
        [[p.day, p.start.strftime("%H:%M"), p.end.strftime("%H:%M"), p.mode] for p in periods],
        separators=(",", ":"),
    )


def _periods(text: str) -> tuple[SchedulePeriod, ...]:
    return tuple(
        SchedulePeriod(int(d), time.fromisoformat(s), time.fromisoformat(e), str(m))
        for d, s, e, m in json.loads(text)
    )


def _override_json(o: Override) -> str:
    data: dict[str, Any] = {"start": o.start.isoformat(), "end": o.end.isoformat(), "label": o.label}
    for key in ("mode", "on", "setpoint_c"):
        if getattr(o, key) is not None:
            data[key] = getattr(o, key)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class SettingsStore:
    """Persistent schedule edits, overrides, audit log and engine memory."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db, _ = storage.connect(path, schema=SCHEMA, pragmas=PRAGMAS, full_check_below=_CHECK_BELOW,
                                          check_same_thread=False)
        except UnusableFileError as exc:  # damaged, or written by a newer gateway: open() moves it aside
            raise StorageError(f"settings store {path}: {exc.reason}") from (exc.__cause__ or exc)
        except sqlite3.Error as exc:
            raise StorageError(f"settings store {path}: {exc}") from exc
        self.version = 0  # bumped on every change (the control loop rebuilds its site when it moves)
        #: set by :meth:`open` when an unreadable file was moved aside (what happened, in words)
        self.recovered: str | None = None

    @classmethod
    def open(cls, path: Path | str, *, now: datetime | None = None) -> SettingsStore:
        """Open ``path``; an unreadable file is moved aside and a fresh store started (see the module)."""
        try:
            return cls(path)
        except StorageError as exc:
            if str(path) == ":memory:" or not Path(path).is_file():
                raise  # nothing to move aside (a directory problem): a fresh file would fail the same way
            cause = exc.__cause__
            if isinstance(cause, sqlite3.OperationalError) and not is_corruption(cause):
                # locked, disk full, I/O: not damage. The file and its edits stay as they are; the
                # daemon runs on the configured schedules meanwhile, and says so
                store = cls(":memory:")
                store.recovered = (
                    f"settings store {Path(path).name} cannot be opened now ({cause}); left untouched: the"
                    " configured schedules apply until a restart opens it, edits made meanwhile are not kept"
                )
                return store
            aside = move_aside(Path(path), "corrupt", now=now)
            store = cls(path)
            store.recovered = (
                f"settings store unreadable ({exc.__cause__ or exc}); moved aside as {aside.name} and a fresh one"
                " started: the configured schedules apply, edits made on the admin page (schedules, exceptions,"
                " bookings, audit log) are lost"
            )
            return store

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    # ---- one transaction per change --------------------------------------------------------
    def _write(
        self, fn: Any, *, user: str, action: str, subject: str, old: str, new: str, now: datetime
    ) -> Any:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                result = fn()
                self._db.execute(
                    "INSERT INTO audit (time_ns, user, action, subject, old, new) VALUES (?, ?, ?, ?, ?, ?)",
                    (_ns(now), user or "?", action, subject, old, new),
                )
                self._db.execute("COMMIT")
            except BaseException:
                rollback(self._db)  # never raises: the caller gets the error that made it roll back
                raise
            self.version += 1  # only once committed: the control loop rebuilds its site on a real change
            return result

    # ---- weekly schedules -------------------------------------------------------------------
    def week(self, subject: str) -> tuple[SchedulePeriod, ...] | None:
        """The edited week of ``subject`` (``building/zone``), or ``None`` (the configured one applies)."""
        with self._lock:
            row = self._db.execute("SELECT periods FROM weeks WHERE subject = ?", (subject,)).fetchone()
        return None if row is None else _periods(row[0])

    def weeks(self) -> dict[str, tuple[SchedulePeriod, ...]]:
        """Every edited week."""
        with self._lock:
            rows = self._db.execute("SELECT subject, periods FROM weeks").fetchall()
        return {subject: _periods(text) for subject, text in rows}

    def set_week(self, subject: str, periods: Iterable[SchedulePeriod], *, user: str, now: datetime) -> None:
        """Replace the week of ``subject``."""
        periods = tuple(periods)
        old = self.week(subject)
        text = _periods_json(periods)

        def apply() -> None:
            self._db.execute(
                "INSERT INTO weeks (subject, periods) VALUES (?, ?) "
                "ON CONFLICT (subject) DO UPDATE SET periods = excluded.periods",
                (subject, text),
            )

        self._write(
            apply,
            user=user,
            action="set_week_schedule",
            subject=subject,
            old="default" if old is None else _periods_json(old),
            new=text,
            now=now,
        )

    def reset_week(self, subject: str, *, user: str, now: datetime) -> None:
        """Go back to the configured week."""
        old = self.week(subject)
        if old is None:
            return
        self._write(
            lambda: self._db.execute("DELETE FROM weeks WHERE subject = ?", (subject,)),
            user=user,
            action="reset_week_schedule",
            subject=subject,
            old=_periods_json(old),
            new="default",
            now=now,
        )

    # ---- exceptions ---------------------------------------------------------------------------
    def exceptions(self, subject: str | None = None) -> tuple[ScheduleException, ...]:
        """Exceptions of ``subject`` (or all), by start date."""
        return tuple(e for _s, e in self._exception_rows(subject))

    def all_exceptions(self) -> list[tuple[str, ScheduleException]]:
        """``(subject, exception)`` for every exception."""
        return self._exception_rows(None)

    def _exception_rows(self, subject: str | None) -> list[tuple[str, ScheduleException]]:
        query = 'SELECT id, subject, start, "end", label, periods FROM exceptions'
        args: tuple[Any, ...] = ()
        if subject is not None:
            query += " WHERE subject = ?"
            args = (subject,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY start, id", args).fetchall()
        return [
            (s, ScheduleException(i, date.fromisoformat(a), date.fromisoformat(b), label, _periods(p)))
            for i, s, a, b, label, p in rows
        ]

    def add_exception(
        self,
        subject: str,
        start: date,
        end: date,
        label: str,
        periods: Iterable[SchedulePeriod],
        *,
        user: str,
        now: datetime,
    ) -> ScheduleException:
        """Add a dated exception."""
        periods = tuple(periods)
        text = _periods_json(periods)

        def apply() -> int:
            cur = self._db.execute(
                'INSERT INTO exceptions (subject, start, "end", label, periods) VALUES (?, ?, ?, ?, ?)',
                (subject, start.isoformat(), end.isoformat(), label, text),
            )
            return int(cur.lastrowid or 0)

        new = json.dumps(
            {"start": start.isoformat(), "end": end.isoformat(), "label": label}, ensure_ascii=False
        )
        new_id = self._write(
            apply, user=user, action="add_exception", subject=subject, old="", new=new, now=now
        )
        return ScheduleException(new_id, start, end, label, periods)

    def remove_exception(self, exception_id: int, *, user: str, now: datetime) -> None:
        """Delete an exception."""
        rows = [(s, e) for s, e in self._exception_rows(None) if e.id == exception_id]
        if not rows:
            raise UnknownSubjectError(f"exception {exception_id}")
        subject, exc = rows[0]
        old = json.dumps(
            {"start": exc.start.isoformat(), "end": exc.end.isoformat(), "label": exc.label},
            ensure_ascii=False,
        )
        self._write(
            lambda: self._db.execute("DELETE FROM exceptions WHERE id = ?", (exception_id,)),
            user=user,
            action="remove_exception",
            subject=subject,
            old=old,
            new="",
            now=now,
        )

    # ---- overrides ----------------------------------------------------------------------------
    def overrides(self, *, kind: str | None = None, subject: str | None = None) -> tuple[Override, ...]:
        """Overrides (including expired ones still in the table), by start."""
        query = (
            'SELECT id, kind, subject, start_ns, end_ns, label, user, created_ns, mode, "on", setpoint_c '
            "FROM overrides WHERE 1=1"
        )
        args: list[Any] = []
        if kind is not None:
            query += " AND kind = ?"
            args.append(kind)
        if subject is not None:
            query += " AND subject = ?"
            args.append(subject)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY start_ns, id", args).fetchall()
        return tuple(
            Override(
                id=i,
                kind=k,
                subject=s,
                start=_dt(a),
                end=_dt(b),
                label=label,
                user=u,
                created=_dt(c),
                mode=m,
                on=None if on is None else bool(on),
                setpoint_c=None if sp is None else float(sp),
            )
            for i, k, s, a, b, label, u, c, m, on, sp in rows
        )

    def active_overrides(self, now: datetime) -> tuple[Override, ...]:
        """Overrides not yet ended at ``now`` (current and future; cancelled ones excluded)."""
        return tuple(o for o in self.overrides() if o.end > now and o.end > o.start)

    def add_override(
        self,
        kind: str,
        subject: str,
        start: datetime,
        end: datetime,
        label: str,
        *,
        mode: str | None,
        on: bool | None,
        user: str,
        now: datetime,
        setpoint_c: float | None = None,
    ) -> Override:
        """Add a booking or override (a zone's: ``mode`` or ``setpoint_c``)."""

        def apply() -> int:
            cur = self._db.execute(
                'INSERT INTO overrides (kind, subject, start_ns, end_ns, label, mode, "on", user,'
                " created_ns, setpoint_c) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    kind,
                    subject,
                    _ns(start),
                    _ns(end),
                    label,
                    mode,
                    None if on is None else int(on),
                    user,
                    _ns(now),
                    setpoint_c,
                ),
            )
            return int(cur.lastrowid or 0)

        draft = Override(
            id=0,
            kind=kind,
            subject=subject,
            start=_dt(_ns(start)),
            end=_dt(_ns(end)),
            label=label,
            user=user,
            created=_dt(_ns(now)),
            mode=mode,
            on=on,
            setpoint_c=setpoint_c,
        )
        new_id = self._write(
            apply,
            user=user,
            action=f"add_{kind}_override",
            subject=subject,
            old="",
            new=_override_json(draft),
            now=now,
        )
        return dataclasses.replace(draft, id=new_id)

    def cancel_override(self, override_id: int, *, user: str, now: datetime) -> None:
        """End an override now (a future one is ended before it starts)."""
        found = [o for o in self.overrides() if o.id == override_id]
        if not found:
            raise UnknownSubjectError(f"override {override_id}")
        old = found[0]
        new_end = max(min(old.end, now), old.start)

        def apply() -> None:
            self._db.execute("UPDATE overrides SET end_ns = ? WHERE id = ?", (_ns(new_end), override_id))

        self._write(
            apply,
            user=user,
            action=f"cancel_{old.kind}_override",
            subject=old.subject,
            old=_override_json(old),
            new=json.dumps({"end": new_end.isoformat()}),
            now=now,
        )

    # ---- leak alarms ------------------------------------------------------------------------------
    def leak_acks(self) -> dict[str, int]:
        """Water meter -> when (UTC ns) its leak alarm was last acknowledged."""
        data = self.load_memory("leak_acks") or {}
        return {str(k): int(v) for k, v in data.items()}

    def acknowledge_leak(self, meter: str, *, user: str, now: datetime) -> None:
        """Record that a person checked ``meter``'s leak alarm (one transaction with its audit row)."""
        acks = self.leak_acks()
        old = acks.get(meter)
        acks[meter] = _ns(now)
        text = json.dumps(acks, separators=(",", ":"), sort_keys=True)

        def apply() -> None:
            self._db.execute(
                "INSERT INTO memory (key, value) VALUES ('leak_acks', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (text,),
            )

        self._write(
            apply,
            user=user,
            action="acknowledge_leak",
            subject=meter,
            old="" if old is None else _dt(old).isoformat(),
            new=now.isoformat(),
            now=now,
        )

    # ---- audit --------------------------------------------------------------------------------
    def record(self, *, user: str, action: str, subject: str, old: str, new: str, now: datetime) -> None:
        """An audit row for a change made elsewhere (an account added on the admin page...).

        Nothing the rules read changes, so :attr:`version` stays as it is."""
        with self._lock:
            self._db.execute(
                "INSERT INTO audit (time_ns, user, action, subject, old, new) VALUES (?, ?, ?, ?, ?, ?)",
                (_ns(now), user or "?", action, subject, old, new),
            )

    def audit(self, *, limit: int = 100) -> list[AuditEntry]:
        """Newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, time_ns, user, action, subject, old, new FROM audit ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [AuditEntry(i, _dt(t), u, a, s, o, n) for i, t, u, a, s, o, n in rows]

    # ---- engine memory ------------------------------------------------------------------------
    def load_memory(self, key: str = "engine") -> Any:
        """The engine memory saved last, as JSON data (``None`` if never saved or unreadable)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM memory WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return json.loads(row[0])
        except ValueError:
            return None

    def save_memory(self, value: Any, key: str = "engine") -> None:
        """Persist the engine memory (JSON-able data)."""
        self.save_memories({key: value})

    def save_memories(self, values: Mapping[str, Any]) -> None:
        """Persist several memory keys in one transaction (one fsync'd commit on the SD card)."""
        rows = [(key, json.dumps(value, separators=(",", ":"), sort_keys=True)) for key, value in values.items()]
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(
                    "INSERT INTO memory (key, value) VALUES (?, ?)"
                    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    rows,
                )
                self._db.execute("COMMIT")
            except BaseException:
                rollback(self._db)
                raise
