"""Time sources. Only the shell reads the clock; rules get ``now`` as an argument.

A Raspberry Pi has no real-time clock: it boots at the time fake-hwclock saved at the last
shutdown (or at 1970) and jumps when NTP synchronises. This module answers two questions:

- *what time is it* (:class:`Clock`: wall and monotonic time, injectable so tests step time);
- *can that time be trusted* (:class:`SyncSource`: the kernel's NTP status, read with
  ``adjtimex(2)`` exactly as ``timedatectl``'s ``NTPSynchronized`` does, and
  :class:`LastSeen`, the latest trusted time persisted in the state directory).

Rules of this module:
- ``adjtimex`` is called read-only (``modes = 0``): it needs no privilege and never changes
  the clock (the service has no ``CAP_SYS_TIME`` anyway);
- the policy (what an untrusted clock means for readings and schedules) lives in
  :mod:`gateway.clock_guard`, not here.

Example::

    clock = ManualClock(datetime(2026, 1, 5, 7, 0, tzinfo=UTC), synchronised=False)
    clock.sync_status().synchronised   # False
    clock.set_synchronised(True); clock.jump(-3600)   # NTP arrives and steps the clock back
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

#: ``STA_UNSYNC`` in ``timex.status``: the kernel clock is not synchronised.
STA_UNSYNC = 0x0040
#: ``maxerror`` (µs) at or above which systemd considers the clock unsynchronised (16 s).
MAXERROR_UNSYNC_US = 16_000_000
#: ``adjtimex`` return value meaning the clock is not synchronised.
TIME_ERROR = 5


class Clock(Protocol):
    """Wall and monotonic time, injectable so tests can step time."""

    def time_ns(self) -> int: ...

    def monotonic(self) -> float: ...

    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """Whether the system clock is synchronised (NTP or equivalent), and why we think so."""

    synchronised: bool
    maxerror_us: int | None = None
    detail: str = ""


@runtime_checkable
class SyncSource(Protocol):
    """Something that can tell whether the wall clock is synchronised."""

    def sync_status(self) -> SyncStatus: ...


class _Timeval(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long))


class _Timex(ctypes.Structure):
    """``struct timex`` from ``<sys/timex.h>`` (glibc layout; ``long`` fields follow the ABI)."""

    _fields_ = (
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time", _Timeval),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("_reserved", ctypes.c_int * 11),
        ("_slack", ctypes.c_byte * 64),  # room for a larger future struct: never overrun
    )


class KernelSync:
    """The kernel's view, as ``timedatectl`` reports ``NTPSynchronized``.

    Synchronised when ``adjtimex`` (``modes = 0``: read only) succeeds, ``STA_UNSYNC`` is clear
    and ``maxerror`` is below 16 s — systemd's own ``ntp_synced()``. glibc implements the call
    with the ``clock_adjtime`` system call, which seccomp filters refuse whole when a unit says
    ``ProtectClock=yes`` (ours does: see docs/install.md). Then the same answer is read from
    systemd instead: ``/run/systemd/timesync/synchronized`` (touched by systemd-timesyncd, the
    default on Raspberry Pi OS), else timedated's ``NTPSynchronized`` property over D-Bus (which
    timedated computes with adjtimex; covers chrony and ntpd), asked at most once a minute.
    """

    TIMEDATED_EVERY_S = 60.0

    def __init__(
        self,
        *,
        timesync_flag: Path = Path("/run/systemd/timesync/synchronized"),
        busctl: str | None = "busctl",
    ) -> None:
        self._flag = timesync_flag
        self._busctl = busctl
        self._adjtimex = None
        self._refused: str | None = None
        self._timedated: tuple[float, SyncStatus | None] | None = None
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            self._adjtimex = libc.adjtimex

    def sync_status(self) -> SyncStatus:
        """Read the synchronisation status now (one system call; systemd's answer if refused)."""
        kernel = self._kernel()
        if kernel is not None:
            return kernel
        why = self._refused or "adjtimex unavailable"
        if self._flag.exists():
            return SyncStatus(True, None, f"{why}; systemd-timesyncd reports synchronised")
        timedated = self._ask_timedated()
        if timedated is not None:
            return SyncStatus(timedated.synchronised, None, f"{why}; {timedated.detail}")
        return SyncStatus(False, None, f"{why}; no systemd-timesyncd flag, timedated not reachable")

    def _kernel(self) -> SyncStatus | None:
        if self._adjtimex is None or self._refused is not None:
            return None
        tx = _Timex()
        tx.modes = 0  # read only
        if self._adjtimex(ctypes.byref(tx)) < 0:
            self._refused = f"adjtimex refused ({os.strerror(ctypes.get_errno())})"
            return None
        unsync = bool(tx.status & STA_UNSYNC)
        synced = not unsync and tx.maxerror < MAXERROR_UNSYNC_US
        if synced:
            detail = "kernel: synchronised"
        elif unsync:
            detail = "kernel: STA_UNSYNC set"
        else:
            detail = f"kernel: max error {tx.maxerror} µs"
        return SyncStatus(synced, int(tx.maxerror), detail)

    def _ask_timedated(self) -> SyncStatus | None:
        now = time.monotonic()
        if self._timedated is not None and now - self._timedated[0] < self.TIMEDATED_EVERY_S:
            return self._timedated[1]
        answer: SyncStatus | None = None
        busctl = shutil.which(self._busctl) if self._busctl else None
        if busctl:
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                out = subprocess.run(
                    [busctl, "get-property", "org.freedesktop.timedate1", "/org/freedesktop/timedate1",
                     "org.freedesktop.timedate1", "NTPSynchronized"],
                    capture_output=True, text=True, timeout=5, check=False,
                )
                words = out.stdout.split()
                if out.returncode == 0 and len(words) == 2 and words[0] == "b":
                    answer = SyncStatus(words[1] == "true", None, f"timedated: NTPSynchronized={words[1]}")
        self._timedated = (now, answer)
        return answer


class SystemClock:
    """The machine's clock; its synchronisation status comes from the kernel."""

    def __init__(self, sync: SyncSource | None = None) -> None:
        self._sync = sync

    def time_ns(self) -> int:
        return time.time_ns()

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of monotonic time (the event loop's clock is ``time.monotonic``)."""
        await asyncio.sleep(seconds)

    def sync_status(self) -> SyncStatus:
        if self._sync is None:
            self._sync = KernelSync()
        return self._sync.sync_status()


class ManualClock:
    """A clock that moves only when told to (tests, simulation faster than real time).

    :meth:`advance` moves wall and monotonic time together (time passing);
    :meth:`jump` moves only the wall clock (NTP stepping it, someone running ``date -s``).
    A manual clock is synchronised unless built with ``synchronised=False``. Tasks that
    :meth:`sleep` on it wake when :meth:`advance` has moved the monotonic time far enough.
    """

    def __init__(self, start: datetime, *, synchronised: bool = True) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._mono = 0.0
        self._synced = synchronised
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def time_ns(self) -> int:
        return int(self._now.timestamp() * 1_000_000_000)

    def monotonic(self) -> float:
        return self._mono

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass (tasks sleeping on this clock whose time has come are woken)."""
        self._now += timedelta(seconds=seconds)
        self._mono += seconds
        for deadline, future in list(self._sleepers):
            if deadline <= self._mono and not future.done():
                with contextlib.suppress(RuntimeError):  # a loop already closed: nobody waits any more
                    future.get_loop().call_soon_threadsafe(_wake, future)

    async def sleep(self, seconds: float) -> None:
        """Wait until :meth:`advance` has moved the monotonic time ``seconds`` on (a jump does not)."""
        deadline = self._mono + max(0.0, seconds)
        if deadline <= self._mono:
            await asyncio.sleep(0)
            return
        entry = (deadline, asyncio.get_running_loop().create_future())
        self._sleepers.append(entry)
        try:
            await entry[1]
        finally:
            self._sleepers.remove(entry)

    def jump(self, seconds: float) -> None:
        """Step the wall clock by ``seconds`` (negative: backwards) without time passing."""
        self._now += timedelta(seconds=seconds)

    def set(self, when: datetime) -> None:
        """Step the wall clock to ``when`` (e.g. NTP's answer after a boot at 1970)."""
        self._now = when.astimezone(UTC)

    def set_synchronised(self, synchronised: bool) -> None:
        """What the simulated kernel reports from now on."""
        self._synced = synchronised

    def sync_status(self) -> SyncStatus:
        return SyncStatus(self._synced, 0 if self._synced else MAXERROR_UNSYNC_US, "manual clock")


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def sleep(clock: object, seconds: float) -> None:
    """Sleep ``seconds`` of ``clock``'s monotonic time: real time for the system clock, the test's
    time for a :class:`ManualClock`; never the wall clock, which may step."""
    own = getattr(clock, "sleep", None)
    if callable(own):
        await own(seconds)
    else:
        await asyncio.sleep(seconds)


class LastSeen:
    """The latest trusted wall time, persisted in ``state_dir/clock.last_seen``.

    A clock earlier than this after a reboot is wrong (a Pi without RTC). Written atomically
    (temporary file, fsync, rename) and rarely (the caller decides; every few minutes) to
    spare the SD card.
    """

    FILE_NAME = "clock.last_seen"

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / self.FILE_NAME

    def load(self) -> int | None:
        """The persisted time in ns, or ``None`` if absent or unreadable (never raises)."""
        try:
            text = self.path.read_text(encoding="ascii").strip()
            value = int(text)
        except (OSError, ValueError, UnicodeDecodeError):
            return None
        return value if value > 0 else None

    def save(self, time_ns: int) -> None:
        """Persist ``time_ns`` (raises ``OSError`` if the state directory is not writable)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", encoding="ascii") as out:
            out.write(f"{time_ns}\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)


def sync_status_of(clock: object) -> SyncStatus:
    """The synchronisation status of ``clock``; a clock that cannot tell is taken as synchronised.

    (Simulation clocks running faster than real time are their own reference.)
    """
    if isinstance(clock, SyncSource):
        return clock.sync_status()
    return SyncStatus(True, None, f"{type(clock).__name__} has no synchronisation status")
