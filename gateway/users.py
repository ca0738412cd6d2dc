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
- :class:`LoginThrottle` is in-memory and bounded; it never reads the clock by itself
  (a monotonic clock is passed in), so tests step time.

Example::

    >>> store = UserStore(Path("/tmp/x/users.json"))          # doctest: +SKIP
    >>> store.add("secretaire", "agent", "correct horse battery")  # doctest: +SKIP
    >>> store.authenticate("secretaire", "correct horse battery").role  # doctest: +SKIP
    'agent'
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from gateway.errors import GatewayError

Role = Literal["agent", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
USERS_FILE = "users.json"
MIN_PASSWORD_LENGTH = 10
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
_FORMAT_VERSION = 1
#: At most this many argon2 computations at once (64 MiB each): the Pi has 1 GB and 4 web threads.
HASH_SLOTS = threading.BoundedSemaphore(2)


class UserError(GatewayError, ValueError):
    """A refused account operation (bad name, unknown user, weak password); ``field`` names the input."""

    def __init__(self, message: str, *, field: str = "name") -> None:
        self.field = field
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class User:
    """One account. ``password_hash`` is an argon2 PHC string, never the password."""

    name: str
    role: Role
    password_hash: str
    created: str  # ISO 8601, UTC

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def check_name(name: str) -> str:
    """A valid account name (lower-case letters, digits, '.', '_', '-'; at most 32), or :class:`UserError`."""
    if not _NAME.match(name):
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

    def __init__(self, path: Path, *, hasher: PasswordHasher | None = None) -> None:
        self.path = Path(path)
        self._hasher = hasher or PasswordHasher()  # argon2id, RFC 9106 low-memory profile
        self._lock = threading.Lock()
        # Verified against for unknown names, so a miss costs the same time as a wrong password.
        self._dummy_hash = self._hasher.hash(secrets.token_hex(16))

    @classmethod
    def in_state_dir(cls, state_dir: Path, *, hasher: PasswordHasher | None = None) -> UserStore:
        """The store of a gateway whose state lives in ``state_dir``."""
        return cls(Path(state_dir) / USERS_FILE, hasher=hasher)

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
            with contextlib.suppress(UserError):
                self.set_password(name, password)
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

    def set_password(self, name: str, password: str) -> None:
        """Replace an account's password."""
        check_password(password)
        hashed = self._hasher.hash(password)
        with self._writing() as users:
            old = users.get(name)
            if old is None:
                raise UserError(f"no user {name!r}", field="name")
            users[name] = User(old.name, old.role, hashed, old.created)

    def set_role(self, name: str, role: str) -> None:
        """Change an account's role; the last admin cannot be demoted."""
        checked_role = check_role(role)
        with self._writing() as users:
            old = users.get(name)
            if old is None:
                raise UserError(f"no user {name!r}", field="name")
            if old.role == "admin" and checked_role != "admin" and _admins(users) == 1:
                raise UserError("the last admin cannot lose the admin role", field="role")
            users[name] = User(old.name, checked_role, old.password_hash, old.created)

    def remove(self, name: str) -> None:
        """Delete an account."""
        with self._writing() as users:
            if name not in users:
                raise UserError(f"no user {name!r}", field="name")
            del users[name]

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
            users[name] = User(name, check_role(entry["role"]), entry["hash"], entry.get("created", ""))
        return users

    @contextlib.contextmanager
    def _writing(self) -> Iterator[dict[str, User]]:
        """Lock, read, let the caller change the dict, write atomically (0600)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_suffix(".lock")
        with self._lock, open(lock_path, "a", encoding="utf-8") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                users = self._read()
                yield users
                payload = {
                    "version": _FORMAT_VERSION,
                    "users": {
                        u.name: {"role": u.role, "hash": u.password_hash, "created": u.created}
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
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)


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


class LoginThrottle:
    """Refuse logins for a while after repeated failures for one key (a user name or an address).

    After ``max_failures`` failures within ``window_s``, the key is refused for ``lockout_s``;
    a success clears it. At most ``max_keys`` keys are remembered (oldest forgotten first),
    so a flood of random names cannot exhaust memory.
    """

    def __init__(
        self,
        *,
        max_failures: int = 5,
        window_s: float = 900.0,
        lockout_s: float = 300.0,
        max_keys: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_failures < 1 or window_s <= 0 or lockout_s <= 0:
            raise ValueError("max_failures >= 1, window_s > 0 and lockout_s > 0 are required")
        self.max_failures = max_failures
        self.window_s = window_s
        self.lockout_s = lockout_s
        self._max_keys = max_keys
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._failures: OrderedDict[str, list[float]] = OrderedDict()
        self._locked_until: dict[str, float] = {}

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again (0 when allowed now)."""
        now = self._monotonic()
        with self._lock:
            until = self._locked_until.get(key, 0.0)
            if until <= now:
                self._locked_until.pop(key, None)
                return 0.0
            return until - now

    def failure(self, key: str) -> None:
        """Record a failed attempt for ``key``."""
        now = self._monotonic()
        with self._lock:
            recent = [t for t in self._failures.pop(key, []) if now - t < self.window_s]
            recent.append(now)
            self._failures[key] = recent
            if len(recent) >= self.max_failures:
                self._locked_until[key] = now + self.lockout_s
                self._failures[key] = []
            while len(self._failures) > self._max_keys:
                old, _ = self._failures.popitem(last=False)
                self._locked_until.pop(old, None)

    def success(self, key: str) -> None:
        """Forget ``key``'s failures."""
        with self._lock:
            self._failures.pop(key, None)
            self._locked_until.pop(key, None)
