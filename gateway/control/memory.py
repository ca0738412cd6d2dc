"""What control remembers across restarts: the engine memory and the shell's relay and pulse state.

Rules of this module:
- the engine memory (:class:`rules.types.Memory`: learnt lags, window and presence history) and
  the shell's state (relay switch times and levels, pulse counter bases) are kept in the
  settings store under the keys ``engine`` and ``shell``; the building models' hourly rows
  (about 86 % of the engine memory: up to 504 rows per zone) under their own key ``engine-rows``;
- written at most every :data:`MEMORY_SAVE_S` and only when the engine memory changed (the SD
  card), and always at stop, in one transaction; ``engine-rows`` only when the rows changed (a
  new hourly row: once an hour, not every save — about 4 MB a day less on the example village);
  a write in the loop goes to an executor thread (the fsync of a ``synchronous=FULL`` commit
  must not hold the loop), and an older save that runs late never overwrites a newer one;
- an ``engine`` value saved by an older gateway (rows inside) loads unchanged.
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
#: The settings-store key of the building models' hourly rows (by zone).
ROWS_KEY = "engine-rows"


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
        #: the hourly rows as last handed to the store (JSON text): rewritten only when they change
        self._rows_text: str | None = None

    def load(self) -> dict[str, Any]:
        """Restore the engine memory and the pulse bases; the shell's saved state (``{}`` if none)."""
        saved: dict[str, Any] = self.store.load_memory("shell") or {}
        self.pulse_base = {k: float(v) for k, v in saved.get("pulses", {}).items()}
        engine = self.store.load_memory("engine")
        if isinstance(engine, dict):
            _join_rows(engine, self.store.load_memory(ROWS_KEY))
        self.current = memory_from_json(None if engine is None else json.dumps(engine))
        self._text = memory_to_json(self.current)
        if engine is not None and self.store.load_memory(ROWS_KEY) is not None:  # saved apart already
            self._rows_text = json.dumps(_split_rows(json.loads(self._text)), sort_keys=True)
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
        values: dict[str, Any] = {"engine": engine, "shell": shell}
        rows = _split_rows(engine)
        rows_text = json.dumps(rows, sort_keys=True)
        if rows_text != self._rows_text:
            values[ROWS_KEY] = rows
            self._rows_text = rows_text
        self._text = text
        self._saved_at = mono
        self._seq += 1
        write = self._writer(self._seq, values)
        if force or loop is None:
            write()
        else:  # the fsync of a synchronous=FULL commit must not hold the loop (edge latency)
            loop.run_in_executor(None, write).add_done_callback(_log_failure)

    def _writer(self, seq: int, values: dict[str, Any]) -> Callable[[], None]:
        def write() -> None:
            with self._lock:  # an older save that ran late must not overwrite a newer one
                if seq < self._saved_seq:
                    return
                self._saved_seq = seq
                try:
                    self.store.save_memories(values)
                except BaseException:
                    self._rows_text = None  # the rows are written again at the next save
                    raise

        return write


def _split_rows(engine: dict[str, Any]) -> dict[str, Any]:
    """Take the models' hourly rows out of the engine memory's JSON data: ``{zone: rows}``."""
    rows: dict[str, Any] = {}
    for zone, data in (engine.get("zones") or {}).items():
        model = data.get("model") if isinstance(data, dict) else None
        if isinstance(model, dict) and "rows" in model:
            rows[zone] = model.pop("rows")
    return rows


def _join_rows(engine: dict[str, Any], rows: Any) -> None:
    """Put saved rows back into the engine memory's JSON data (an older value with rows inside stays)."""
    if not isinstance(rows, dict):
        return
    for zone, data in (engine.get("zones") or {}).items():
        model = data.get("model") if isinstance(data, dict) else None
        if isinstance(model, dict) and "rows" not in model and zone in rows:
            model["rows"] = rows[zone]


def _log_failure(future: asyncio.Future[None]) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("engine memory could not be saved: %s", exc)
