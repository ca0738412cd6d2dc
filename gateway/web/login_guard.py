"""Slow password guessing down without locking the agent out.

Rules of this module:
- failures are counted per **(account, client)**: after ``free`` failures that pair waits
  ``base_s`` (1 s) before its next try, and twice as long after each further failure (2 s, 4 s
  ...) up to ``max_delay_s``; a success clears the pair. Another client of the same account is not
  slowed by it: five wrong passwords typed somewhere else never lock the agent out;
- a **client** is the browser's device cookie when it holds one for that account (issued at a
  successful login, OWASP's "device cookie"), else its address — which waitress takes from
  ``X-Forwarded-For`` only when the request came from ``[web].trusted_proxy``;
- one address trying many names is slowed the same way on its own count (from ``4 × free``);
  one account tried from many addresses (without its device cookie) too, so a spread-out
  attack meets the same curve; a device the account logged in from keeps its own curve;
- a **global ceiling**: past ``global_per_min`` failures in the last minute, clients without a
  device cookie wait for the minute to clear; devices the agents logged in from still try;
- a refused try (still waiting) is not verified and does not count; counts are forgotten a
  day after their last failure; at most ``max_keys`` keys are remembered (oldest first), so a
  flood of names or addresses cannot exhaust memory;
- pure bookkeeping under a lock: the monotonic clock is passed in, so tests step time.

Example::

    guard = LoginGuard(free=5, max_delay_s=300)
    if (wait := guard.wait("marie", "addr:192.0.2.7")) > 0: ...   # 429, Retry-After: wait
    guard.failure("marie", "addr:192.0.2.7")  # or guard.success(...)
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

#: A key's failures are forgotten this long after its last one.
FORGET_S = 24 * 3600.0


@dataclass(slots=True)
class _Count:
    failures: int = 0
    last: float = 0.0
    until: float = 0.0  # no try before this (monotonic seconds)


class LoginGuard:
    """Exponential delays per (account, client), per client and per account; a global ceiling."""

    def __init__(
        self,
        *,
        free: int = 5,
        base_s: float = 1.0,
        max_delay_s: float = 300.0,
        global_per_min: int = 60,
        max_keys: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if free < 1 or base_s <= 0 or max_delay_s < base_s or global_per_min < 1:
            raise ValueError("free >= 1, base_s > 0, max_delay_s >= base_s and global_per_min >= 1 are required")
        self.free = free
        self.base_s = base_s
        self.max_delay_s = max_delay_s
        self.global_per_min = global_per_min
        self._max_keys = max_keys
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._counts: OrderedDict[str, _Count] = OrderedDict()
        self._recent: deque[float] = deque()  # failures of clients without a device cookie, last minute

    def _keys(self, account: str, client: str, trusted: bool) -> list[tuple[str, int]]:
        keys = [(f"pair\0{account}\0{client}", self.free), (f"client\0{client}", 4 * self.free)]
        if not trusted:
            keys.append((f"account\0{account}", 4 * self.free))
        return keys

    def wait(self, account: str, client: str, *, trusted: bool = False) -> float:
        """Seconds before ``client`` may try ``account`` again (0: now)."""
        now = self._monotonic()
        with self._lock:
            waits = [c.until - now for key, _ in self._keys(account, client, trusted) if (c := self._counts.get(key))]
            if not trusted:
                self._trim(now)
                if len(self._recent) >= self.global_per_min:
                    waits.append(self._recent[0] + 60.0 - now)
        return max([0.0, *waits])

    def failure(self, account: str, client: str, *, trusted: bool = False) -> None:
        """A wrong password (or unknown name) from ``client`` for ``account``."""
        now = self._monotonic()
        with self._lock:
            for key, free in self._keys(account, client, trusted):
                count = self._counts.pop(key, None) or _Count()
                if now - count.last > FORGET_S:
                    count = _Count()
                count.failures += 1
                count.last = now
                if count.failures >= free:
                    exponent = min(count.failures - free, 62)
                    count.until = now + min(self.base_s * math.pow(2, exponent), self.max_delay_s)
                self._counts[key] = count
            if not trusted:
                self._recent.append(now)
                self._trim(now)
            while len(self._counts) > self._max_keys:
                self._counts.popitem(last=False)

    def success(self, account: str, client: str, *, trusted: bool = False) -> None:
        """The right password: the pair's (and the account's) count is cleared; the client's is kept."""
        with self._lock:
            for key, _ in self._keys(account, client, trusted):
                if not key.startswith("client\0"):
                    self._counts.pop(key, None)

    def _trim(self, now: float) -> None:
        while self._recent and now - self._recent[0] >= 60.0:
            self._recent.popleft()
