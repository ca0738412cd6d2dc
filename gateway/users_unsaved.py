"""Logins and logouts the accounts file could not take yet (a full disk): held in memory until it can.

Rules of this module:
- a login whose session could not be written is **held**: the session is open in this process
  (the person is logged in) and is written with the next successful write of the file;
- a logout is **always** taken at once in memory: the session ends whatever the disk says, and
  its removal from the file is written as soon as the file can be written;
- a held session is only as good as the account it was opened for: if the file shows another
  password hash or role for the account (changed by another process meanwhile), or no account,
  the held session is void, as a written one would have been ended by that change;
- :meth:`Unsaved.merge` applies what is held to the accounts read from the file and returns what
  it applied; :meth:`Unsaved.saved` forgets exactly that once the file is written (what was held
  meanwhile stays held);
- bounded: at most :data:`gateway.users.MAX_SESSIONS` held logins per account, none older than
  its maximum age; logouts only of sessions that were open; thread-safe (its own lock).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.users import User


@dataclass(frozen=True, slots=True)
class Held:
    """A session opened while the file could not be written: when, and for which password and role."""

    at: float  # Unix seconds
    max_age_s: float
    password_hash: str
    role: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What :meth:`Unsaved.merge` applied: held logins and logouts, per account (digests)."""

    opened: Mapping[str, Mapping[str, Held]] = field(default_factory=dict)
    closed: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UnsavedStatus:
    """For the Système page: what is held in memory, since when (Unix seconds) and why."""

    logins: int
    logouts: int
    since: float
    error: str


class Unsaved:
    """The logins and logouts of one :class:`gateway.users.UserStore` not yet in its file."""

    def __init__(self, *, max_sessions: int) -> None:
        self._lock = threading.Lock()
        self._max_sessions = max_sessions
        self._opened: dict[str, dict[str, Held]] = {}
        self._closed: dict[str, set[str]] = {}
        self.error: str | None = None  # why the file could not be written (``None``: all written)
        self.since: float | None = None  # Unix seconds of the first failure of this episode

    # ---- held in memory ------------------------------------------------------------------------
    def hold_login(self, name: str, key: str, held: Held) -> None:
        """Session ``key`` of ``name`` is open, though not written."""
        with self._lock:
            sessions = self._opened.setdefault(name, {})
            sessions[key] = held
            alive = sorted(
                ((k, h) for k, h in sessions.items() if held.at - h.at < h.max_age_s), key=lambda kv: kv[1].at
            )
            self._opened[name] = dict(alive[-self._max_sessions :])

    def end(self, name: str, key: str, *, written: bool) -> None:
        """Session ``key`` of ``name`` ends now; ``written``: the file still lists it (to remove)."""
        with self._lock:
            self._opened.get(name, {}).pop(key, None)
            if written:
                self._closed.setdefault(name, set()).add(key)

    def failed(self, error: str, now: float) -> bool:
        """The file could not be written; ``True`` when this starts an episode (to log once)."""
        with self._lock:
            starting = self.error is None
            self.error = error
            if self.since is None:
                self.since = now
            return starting

    # ---- reading ---------------------------------------------------------------------------------
    def is_ended(self, name: str, key: str) -> bool:
        """Whether session ``key`` of ``name`` was ended in memory (its removal not yet written)."""
        with self._lock:
            return key in self._closed.get(name, ())

    def held_login(self, name: str, key: str, user: User) -> float | None:
        """When the held session ``key`` of ``user`` opened, if it is still good for the account."""
        with self._lock:
            held = self._opened.get(name, {}).get(key)
        if held is None or held.password_hash != user.password_hash or held.role != user.role:
            return None
        return held.at

    def has_held(self, name: str, key: str) -> bool:
        with self._lock:
            return key in self._opened.get(name, {})

    @property
    def pending(self) -> bool:
        """Whether anything waits to be written."""
        with self._lock:
            return any(self._opened.values()) or any(self._closed.values())

    def status(self) -> UnsavedStatus | None:
        """What is held and why; ``None`` when nothing is."""
        with self._lock:
            logins = sum(len(s) for s in self._opened.values())
            logouts = sum(len(s) for s in self._closed.values())
            if not (logins or logouts) or self.since is None:
                return None
            return UnsavedStatus(logins, logouts, self.since, self.error or "")

    # ---- writing -----------------------------------------------------------------------------------
    def merge(self, users: dict[str, User], now: float) -> Snapshot:
        """Apply what is held to ``users`` (as read from the file, changed in place); return it."""
        with self._lock:
            opened = {n: dict(s) for n, s in self._opened.items() if s}
            closed = {n: frozenset(s) for n, s in self._closed.items() if s}
        for name, held in opened.items():
            user = users.get(name)
            if user is None:
                continue
            good = {
                k: h.at
                for k, h in held.items()
                if h.password_hash == user.password_hash and h.role == user.role and now - h.at < h.max_age_s
            }
            if good:
                sessions = sorted({**user.sessions, **good}.items(), key=lambda kv: kv[1])[-self._max_sessions :]
                users[name] = replace(user, sessions=dict(sessions))
        for name, keys in closed.items():
            user = users.get(name)
            if user is not None and keys & set(user.sessions):
                users[name] = replace(user, sessions={k: v for k, v in user.sessions.items() if k not in keys})
        return Snapshot(opened, closed)

    def saved(self, snapshot: Snapshot) -> tuple[int, int] | None:
        """The file now holds ``snapshot``: forget it. Returns ``(logins, logouts)`` saved when this
        ends an episode of failures (to log once), else ``None``."""
        with self._lock:
            for name, held in snapshot.opened.items():
                sessions = self._opened.get(name, {})
                for key, value in held.items():
                    if sessions.get(key) == value:
                        del sessions[key]
            for name, keys in snapshot.closed.items():
                self._closed.get(name, set()).difference_update(keys)
            self._opened = {n: s for n, s in self._opened.items() if s}
            self._closed = {n: s for n, s in self._closed.items() if s}
            if self.error is None or self._opened or self._closed:
                return None
            self.error = None
            self.since = None
            return sum(len(s) for s in snapshot.opened.values()), sum(len(s) for s in snapshot.closed.values())
