"""A value computed in the background and served stale while it is computed again.

Rules: the first :meth:`Refreshing.get` computes in the caller's thread (unless :meth:`Refreshing.warm`
already did); afterwards a value older than ``ttl_s`` is served as it is while one background thread
computes the next (a visitor never waits for a recomputation); one computation at a time; a failing
background computation keeps the old value and is logged. Thread-safe.

Example::

    page = Refreshing(lambda: public_view(figures, now()), ttl_s=600, name="public-page")
    page.warm()          # at start, before any visitor
    page.get()           # the value, fresh or a little stale
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

log = logging.getLogger("gateway.report")


class Refreshing(Generic[T]):
    """``compute()``'s result, recomputed at most every ``ttl_s`` seconds, in the background."""

    def __init__(self, compute: Callable[[], T], *, ttl_s: float, name: str,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._compute_fn = compute
        self._ttl_s = ttl_s
        self._name = name
        self._monotonic = monotonic
        self._lock = threading.Lock()  # guards the fields below
        self._compute_lock = threading.Lock()  # one computation at a time
        self._value: T | None = None
        self._at = 0.0
        self._refreshing = False

    def _fresh(self) -> T | None:
        with self._lock:
            if self._value is not None and self._monotonic() - self._at < self._ttl_s:
                return self._value
            return None

    def _compute(self) -> T:
        with self._compute_lock:
            done = self._fresh()  # computed by another thread while this one waited
            if done is not None:
                return done
            value = self._compute_fn()
            with self._lock:
                self._value, self._at = value, self._monotonic()
            return value

    def _refresh(self) -> None:
        try:
            self._compute()
        except Exception as exc:  # the stale value stays; a later request tries again
            log.warning("%s not refreshed: %s", self._name, exc)
        finally:
            with self._lock:
                self._refreshing = False

    def warm(self) -> None:
        """Compute the next value in a background thread (unless one already is)."""
        with self._lock:
            if self._refreshing:
                return
            self._refreshing = True
        threading.Thread(target=self._refresh, name=self._name, daemon=True).start()

    def get(self) -> T:
        """The current value: computed in this thread only if there is none yet; when stale, served as it
        is while the next one is computed in the background."""
        with self._lock:
            value, stale = self._value, self._monotonic() - self._at >= self._ttl_s
        if value is None:
            return self._compute()
        if stale:
            self.warm()
        return value
