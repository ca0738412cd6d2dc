"""Accounts of the admin page: names, roles, argon2 password hashes; login throttling.

Rules of this module:
- there is no default password: an account exists only once ``village-gateway user add``
  (or :func:`ensure_demo_user` for the demo) gave it one;
- passwords are hashed with argon2id (argon2-cffi, RFC 9106 low-memory profile: 64 MiB,
  3 passes); a plain password is never stored, logged or returned; at most
  :data:`HASH_SLOTS` verifications run at once, so a burst of logins cannot exhaust the Pi's RAM;
- the store is one JSON file in the state directory, mode 0600, replaced atomically and
  re-read on every operation, so the CLI and the running daemon can both change it
  (an ``fcntl`` lock serialises writers);
- sessions are revocable here, server-side: a login records a random session id (only its
  SHA-256 is stored, at most :data:`MAX_SESSIONS` per account, each for at most
  :data:`SESSION_MAX_AGE_S` or the lifetime asked if longer); every request checks its id
  (a read, never a write); logout forgets it; a password change forgets every other session
  of the account, a role change or removal all of them. The file is written only on login,
  logout and account changes, never per request (the Pi's SD card);
- failed logins are slowed down by :mod:`gateway.web.login_guard` (per account and client);
- a write is durable when it returns: the new file is fsynced, renamed over the old one, and the
  directory fsynced (the rename itself survives a power cut);
- **a full disk never locks anyone out nor in** (:mod:`gateway.users_unsaved`): a login whose
  session cannot be written is held in memory (the person is logged in), a logout always ends
  the session in memory at once; both are written with the next successful write, which is
  retried every :data:`RETRY_S` seconds meanwhile, and :meth:`UserStore.unsaved` tells the
  Système page. A restart before that forgets them (held logins log out; held logouts are
  sessions whose cookie was already cleared in the browser). An account change that cannot be
  written is refused (:class:`UsersFileError`): nothing changed.

Example::

    >>> store = UserStore(Path("/tmp/x/users.json"))          # doctest: +SKIP
    >>> store.add("secretaire", "agent", "correct horse battery")  # doctest: +SKIP
    >>> store.authenticate("secretaire", "correct horse battery").role  # doctest: +SKIP
    'agent'
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gateway.errors import GatewayError
from gateway.users_unsaved import Held, Unsaved, UnsavedStatus

log = logging.getLogger("gateway.users")

Role = Literal["agent", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
USERS_FILE = "users.json"
MIN_PASSWORD_LENGTH = 10
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
_FORMAT_VERSION = 1
#: At most this many argon2 computations at once (64 MiB each): the Pi has 1 GB and 4 web threads.
HASH_SLOTS = threading.BoundedSemaphore(2)
#: Sessions remembered per account (the oldest is forgotten first): a few devices, a few browsers.
MAX_SESSIONS = 10
#: A session ends at the latest this long after its login, however active (the cookie's own idle
#: limit, ``[web].session_lifetime_min``, is usually reached first).
SESSION_MAX_AGE_S = 24 * 3600.0
#: While logins or logouts are held in memory (the file could not be written), it is tried again this often.
RETRY_S = 30.0


class UserError(GatewayError, ValueError):
    """A refused account operation (bad name, unknown user, weak password); ``field`` names the input."""

    def __init__(self, message: str, *, field: str = "name") -> None:
        self.field = field
        super().__init__(message)


class UsersFileError(UserError):
    """The accounts file could not be written (a full disk, a read-only one): nothing changed."""

    def __init__(self, path: Path, cause: OSError) -> None:
        self.cause = cause
        super().__init__(f"cannot write {path}: {cause.strerror or cause}; nothing changed", field="file")


@dataclass(frozen=True, slots=True)
class User:
    """One account. ``password_hash`` is an argon2 PHC string, never the password."""

    name: str
    role: Role
    password_hash: str
    created: str  # ISO 8601, UTC
    #: open sessions: SHA-256 of the session id -> login time (Unix seconds)
    sessions: Mapping[str, float] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def check_name(name: str) -> str:
    """A valid account name (lower-case letters, digits, '.', '_', '-'; at most 32), or :class:`UserError`."""
    if not _NAME.fullmatch(name):
        raise UserError("a name is 1 to 32 lower-case letters, digits, '.', '_' or '-'", field="name")
    return name


def check_password(password: str) -> str:
    """A password long enough, or :class:`UserError`."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters", field="password")
    if len(password) > 1024:
        raise UserError("a password is at most 1024 characters", field="password")
    return password


def check_role(role: str) -> Role:
    """``agent`` or ``admin``, or :class:`UserError`."""
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}", field="role")
    return role  # type: ignore[return-value]


class UserStore:
    """The accounts file ``<state_dir>/users.json``; safe to share between threads and processes."""

    def __init__(
        self,
        path: Path,
        *,
        hasher: PasswordHasher | None = None,
        wall: Callable[[], float] = time.time,
        retry_s: float = RETRY_S,
    ) -> None:
        self.path = Path(path)
        self._wall = wall  # Unix seconds: session login times survive a restart
        self._hasher = hasher or PasswordHasher()  # argon2id, RFC 9106 low-memory profile
        self._lock = threading.Lock()
        self._unsaved = Unsaved(max_sessions=MAX_SESSIONS)
        self._retry_s = retry_s
        self._retry: threading.Timer | None = None
        self._retry_lock = threading.Lock()
        # Verified against for unknown names, so a miss costs the same time as a wrong password.
        self._dummy_hash = self._hasher.hash(secrets.token_hex(16))

    @classmethod
    def in_state_dir(
        cls, state_dir: Path, *, hasher: PasswordHasher | None = None, wall: Callable[[], float] = time.time
    ) -> UserStore:
        """The store of a gateway whose state lives in ``state_dir``."""
        return cls(Path(state_dir) / USERS_FILE, hasher=hasher, wall=wall)

    # ---- reading -----------------------------------------------------------------------------
    def users(self) -> list[User]:
        """Every account, sorted by name."""
        return sorted(self._read().values(), key=lambda u: u.name)

    def get(self, name: str) -> User | None:
        """One account, or ``None``."""
        return self._read().get(name)

    def authenticate(self, name: str, password: str) -> User | None:
        """The account if ``password`` is right, else ``None`` (same cost whether the name exists or not)."""
        user = self._read().get(name)
        with HASH_SLOTS:
            if user is None:
                with contextlib.suppress(VerificationError, InvalidHashError):
                    self._hasher.verify(self._dummy_hash, password)
                return None
            try:
                self._hasher.verify(user.password_hash, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return None
        if self._hasher.check_needs_rehash(user.password_hash):
            with contextlib.suppress(UserError):  # the file cannot be written: next time
                self._rehash(name, password, user.password_hash)
        return user

    # ---- changing ----------------------------------------------------------------------------
    def add(self, name: str, role: str, password: str) -> User:
        """Create an account; refuse an existing name, a bad role or a short password."""
        check_name(name)
        checked_role = check_role(role)
        check_password(password)
        hashed = self._hasher.hash(password)
        with self._writing() as users:
            if name in users:
                raise UserError(f"user {name!r} already exists", field="name")
            user = User(name, checked_role, hashed, _now_iso())
            users[name] = user
        return user

    def set_password(self, name: str, password: str, *, keep_session: str | None = None) -> None:
        """Replace an account's password; every session of the account ends but ``keep_session``
        (the one that asked for the change)."""
        check_password(password)
        hashed = self._hasher.hash(password)
        kept = _digest(keep_session) if keep_session else None
        with self._writing() as users:
            old = users.get(name)
            if old is None:
                raise UserError(f"no user {name!r}", field="name")
            sessions = {k: v for k, v in old.sessions.items() if k == kept}
            users[name] = replace(old, password_hash=hashed, sessions=sessions)

    def _rehash(self, name: str, password: str, expected_hash: str) -> None:
        """Store a hash with the current parameters (same password: the sessions stay open)."""
        hashed = self._hasher.hash(password)
        with self._writing() as users:
            old = users.get(name)
            if old is not None and old.password_hash == expected_hash:
                users[name] = replace(old, password_hash=hashed)

    def set_role(self, name: str, role: str) -> None:
        """Change an account's role; the last admin cannot be demoted."""
        checked_role = check_role(role)
        with self._writing() as users:
            old = users.get(name)
            if old is None:
                raise UserError(f"no user {name!r}", field="name")
            if old.role == "admin" and checked_role != "admin" and _admins(users) == 1:
                raise UserError("the last admin cannot lose the admin role", field="role")
            if checked_role != old.role:  # every session ends: the account logs in again with its new role
                users[name] = replace(old, role=checked_role, sessions={})

    def remove(self, name: str) -> None:
        """Delete an account."""
        with self._writing() as users:
            if name not in users:
                raise UserError(f"no user {name!r}", field="name")
            del users[name]

    # ---- sessions ------------------------------------------------------------------------------
    def open_session(self, name: str, *, max_age_s: float = SESSION_MAX_AGE_S) -> str:
        """Record a new session of ``name`` (after a successful login); return its id for the cookie.

        Sessions older than ``max_age_s`` are forgotten, and the oldest beyond :data:`MAX_SESSIONS`.
        If the file cannot be written (a full disk), the session is held in memory and written later.
        """
        token = secrets.token_urlsafe(32)
        now = self._wall()
        try:
            with self._writing() as users:
                old = users.get(name)
                if old is None:
                    raise UserError(f"no user {name!r}", field="name")
                alive = sorted(
                    ((k, t) for k, t in old.sessions.items() if now - t < max_age_s), key=lambda kv: kv[1]
                )[-(MAX_SESSIONS - 1) :]
                users[name] = replace(old, sessions={**dict(alive), _digest(token): now})
        except UsersFileError as exc:
            user = self.get(name)
            if user is None:
                raise UserError(f"no user {name!r}", field="name") from None
            self._unsaved.hold_login(name, _digest(token), Held(now, max_age_s, user.password_hash, user.role))
            self._held(exc.cause)
        return token

    def session_user(self, name: str, token: str, *, max_age_s: float = SESSION_MAX_AGE_S) -> User | None:
        """The account whose open session ``token`` is, or ``None`` (ended, expired, unknown). A read only."""
        user = self.get(name)
        if user is None or not isinstance(token, str) or not token:
            return None
        key = _digest(token)
        if self._unsaved.is_ended(name, key):
            return None  # logged out while the file could not be written
        opened = user.sessions.get(key)
        if opened is None:
            opened = self._unsaved.held_login(name, key, user)
        if opened is None or not 0 <= self._wall() - opened < max_age_s:
            return None
        return user

    def close_session(self, name: str, token: str) -> None:
        """End one session (logout), at once in memory whatever the disk; nothing is written when it
        was not open in the file."""
        key = _digest(token)
        user = self.get(name)
        written = user is not None and key in user.sessions
        if not written and not self._unsaved.has_held(name, key):
            return
        self._unsaved.end(name, key, written=written)  # ended now: the file follows
        if written:
            try:
                with self._writing():
                    pass  # the merge of what is held removes it
            except UsersFileError as exc:  # held: written with the next write (retried)
                self._held(exc.cause)

    def unsaved(self) -> UnsavedStatus | None:
        """Logins and logouts held in memory because the file could not be written (``None``: none)."""
        return self._unsaved.status()

    def flush(self) -> bool:
        """Write what is held in memory now; whether nothing is left held."""
        if self._unsaved.pending:
            with contextlib.suppress(UsersFileError), self._writing():
                pass
        return not self._unsaved.pending

    # ---- file --------------------------------------------------------------------------------
    def _read(self) -> dict[str, User]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot read {self.path}: {exc}", field="file") from exc
        if raw.get("version") != _FORMAT_VERSION:
            raise UserError(f"{self.path}: unknown format version {raw.get('version')!r}", field="file")
        users = {}
        for name, entry in raw.get("users", {}).items():
            sessions = {str(k): float(v) for k, v in (entry.get("sessions") or {}).items()}
            users[name] = User(name, check_role(entry["role"]), entry["hash"], entry.get("created", ""), sessions)
        return users

    @contextlib.contextmanager
    def _writing(self) -> Iterator[dict[str, User]]:
        """Lock, read, merge what is held in memory, let the caller change the dict, write atomically
        (0600) and durably. A file that cannot be written is a :class:`UsersFileError`: nothing
        changed on disk, what is held stays held (retried)."""
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                lock_file = open(self.path.with_suffix(".lock"), "a", encoding="utf-8")  # noqa: SIM115 - closed below
            except OSError as exc:
                raise UsersFileError(self.path, exc) from exc
            with lock_file:
                fcntl.flock(lock_file, fcntl.LOCK_EX)
                try:
                    users = self._read()
                    held = self._unsaved.merge(users, self._wall())
                    yield users
                    try:
                        self._write(users)
                    except OSError as exc:
                        raise UsersFileError(self.path, exc) from exc
                    recovered = self._unsaved.saved(held)
                finally:
                    fcntl.flock(lock_file, fcntl.LOCK_UN)
        if recovered is not None:
            log.warning(
                "%s can be written again: %d logins and %d logouts held in memory are saved", self.path, *recovered
            )

    def _write(self, users: dict[str, User]) -> None:
        payload = {
            "version": _FORMAT_VERSION,
            "users": {
                u.name: {"role": u.role, "hash": u.password_hash, "created": u.created}
                | ({"sessions": dict(u.sessions)} if u.sessions else {})
                for u in sorted(users.values(), key=lambda u: u.name)
            },
        }
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".users-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(payload, out, indent=2)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        try:  # the rename is in the directory: without this, a power cut may bring the old file back
            directory = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except OSError as exc:  # the new file is in place and read by everyone: only its durability is in doubt
            log.warning("%s written, but its directory could not be synced: %s", self.path, exc)

    def _held(self, cause: OSError) -> None:
        """Something is held in memory because of ``cause``: say so once, and try again every
        :data:`RETRY_S` seconds until it is written."""
        if self._unsaved.failed(cause.strerror or str(cause), self._wall()):
            log.error(
                "cannot write %s (%s): logins and logouts are held in memory until it can be written "
                "(tried again every %g s); account changes are refused meanwhile",
                self.path,
                cause.strerror or cause,
                self._retry_s,
            )
        self._retry_later()

    def _retry_later(self) -> None:
        """One retry timer at a time (web threads may fail together)."""
        with self._retry_lock:
            if self._retry is not None:
                return
            timer = threading.Timer(self._retry_s, self._retry_now)
            timer.daemon = True  # nothing to wait for at exit: what is held is lost with the process anyway
            timer.name = "users-retry"
            self._retry = timer
            timer.start()

    def _retry_now(self) -> None:
        with self._retry_lock:
            self._retry = None
        try:
            if not self.flush():
                self._retry_later()
        except Exception:  # a retry must never kill its thread silently: say why, try again later
            log.exception("retrying the write of %s failed", self.path)
            self._retry_later()


def _digest(token: str) -> str:
    """What the file keeps of a session id (a leaked users.json opens no session)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _admins(users: dict[str, User]) -> int:
    return sum(1 for u in users.values() if u.role == "admin")


def _now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def generate_password() -> str:
    """A random password to print once (16 URL-safe characters, ~96 bits)."""
    return secrets.token_urlsafe(12)


DEMO_USER = "demo"


def ensure_demo_user(state_dir: Path, *, hasher: PasswordHasher | None = None) -> tuple[str, str]:
    """Give the demo's ``demo`` admin account a fresh random password; return ``(name, password)``.

    Called by ``village-gateway demo``, which prints the password once. Each run replaces the
    previous demo password, so a leaked one does not outlive the demo that printed it.
    """
    store = UserStore.in_state_dir(state_dir, hasher=hasher)
    password = generate_password()
    if store.get(DEMO_USER) is None:
        store.add(DEMO_USER, "admin", password)
    else:
        store.set_password(DEMO_USER, password)
        store.set_role(DEMO_USER, "admin")
    return DEMO_USER, password
