"""What control remembers across restarts: the engine memory and the shell's relay and pulse state.

Rules of this module:
- the engine memory (:class:`rules.types.Memory`: learnt lags, window and presence history) and
  the shell's state (relay switch times and levels, pulse counter bases) are kept in the
  settings store under the keys ``engine`` and ``shell``;
- written at most every :data:`MEMORY_SAVE_S` and only when the engine memory changed (the SD
  card), and always at stop; a write in the loop goes to an executor thread (the fsync of a
  ``synchronous=FULL`` commit must not hold the loop), and an older save that runs late never
  overwrites a newer one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from drivers.gpio import GpioBank
from gateway.control.settings_store import SettingsStore
from rules.types import Memory, memory_from_json, memory_to_json, shift_memory

log = logging.getLogger("gateway.control")

#: Engine memory is written to the SD card at most this often (and on stop).
MEMORY_SAVE_S = 300.0


class MemoryKeeper:
    """The engine memory in use, and its throttled persistence with the shell's state."""

    def __init__(self, *, store: SettingsStore, bank: GpioBank, pulse_scale: Mapping[str, float]) -> None:
        self.store = store
        self.bank = bank
        self._scale = pulse_scale
        self.current: Memory = Memory()
        #: pulse counts saved at the last stop, added to the bank's counts since the start
        self.pulse_base: dict[str, float] = {}
        self._text = ""
        self._saved_at = -math.inf
        self._lock = threading.Lock()
        self._seq = 0
        self._saved_seq = 0

    def load(self) -> dict[str, Any]:
        """Restore the engine memory and the pulse bases; the shell's saved state (``{}`` if none)."""
        saved: dict[str, Any] = self.store.load_memory("shell") or {}
        self.pulse_base = {k: float(v) for k, v in saved.get("pulses", {}).items()}
        engine = self.store.load_memory("engine")
        self.current = memory_from_json(None if engine is None else json.dumps(engine))
        self._text = memory_to_json(self.current)
        return saved

    def pulses(self, name: str, count: int) -> float:
        """An input's pulse total: the saved base plus ``count`` pulses since the start, scaled."""
        return self.pulse_base.get(name, 0.0) + count * self._scale[name]

    def shift(self, step_ns: int) -> None:
        """The wall clock stepped: the memory's measured times move by as much."""
        self.current = shift_memory(self.current, step_ns)

    def save(
        self, relay_since: Mapping[str, int], loop: asyncio.AbstractEventLoop | None, *, force: bool = False
    ) -> None:
        """Persist when due (or ``force``): inline without a loop or when forced, else in an executor."""
        text = memory_to_json(self.current)
        mono = time.monotonic()
        if not force and (text == self._text or mono - self._saved_at < MEMORY_SAVE_S):
            return
        pulses = {name: self.pulses(name, self.bank.pulse_count(name)) for name in self.bank.input_names("pulse")}
        shell = {"relay_since": dict(relay_since), "relay_on": self.bank.relay_states(), "pulses": pulses}
        engine = json.loads(text)
        self._text = text
        self._saved_at = mono
        self._seq += 1
        write = self._writer(self._seq, engine, shell)
        if force or loop is None:
            write()
        else:  # the fsync of a synchronous=FULL commit must not hold the loop (edge latency)
            loop.run_in_executor(None, write).add_done_callback(_log_failure)

    def _writer(self, seq: int, engine: Any, shell: dict[str, Any]) -> Callable[[], None]:
        def write() -> None:
            with self._lock:  # an older save that ran late must not overwrite a newer one
                if seq < self._saved_seq:
                    return
                self._saved_seq = seq
                self.store.save_memory(engine, "engine")
                self.store.save_memory(shell, "shell")

        return write


def _log_failure(future: asyncio.Future[None]) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("engine memory could not be saved: %s", exc)
