"""The single thread that owns a SQLite connection.

Rules of this module:
- every call on a store's connection runs on its one thread (a single-worker executor), so no
  connection is shared between threads and no lock guards SQLite;
- the event loop awaits :meth:`SqliteThread.acall` (it never blocks on the card); other threads
  and tools use the blocking :meth:`SqliteThread.call`;
- after :meth:`SqliteThread.close` a call raises ``RuntimeError`` (what is queued still runs).

Example::

    thread = SqliteThread("archive")
    thread.call(open_file)                 # blocking, from any thread but its own
    rows = await thread.acall(read, hour)  # from the event loop
    thread.close()
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")


class SqliteThread:
    """A single-thread executor named after its store (``journal_0`` in a thread listing)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def call(self, fn: Callable[..., _T], *args: object) -> _T:
        """Run ``fn(*args)`` on the thread and wait for it (not from the thread itself)."""
        if self._closed:
            raise RuntimeError(f"{self.name} is closed")
        return self._executor.submit(fn, *args).result()

    async def acall(self, fn: Callable[..., _T], *args: object) -> _T:
        """Run ``fn(*args)`` on the thread; the event loop waits without blocking."""
        if self._closed:
            raise RuntimeError(f"{self.name} is closed")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def submit(self, fn: Callable[..., _T], *args: object) -> concurrent.futures.Future[_T]:
        """Queue ``fn(*args)`` without waiting (the thread's first job after opening, for instance)."""
        return self._executor.submit(fn, *args)

    def close(self, last: Callable[[], object] | None = None) -> None:
        """Run ``last`` (closing the connection) as the final job, then stop the thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if last is not None:
            self._executor.submit(last).result()
        self._executor.shutdown(wait=True)
