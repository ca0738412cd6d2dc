"""The engine memory on the SD card: the models' hourly rows are written apart, only when they change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory

from drivers.gpio import GpioBank, RelaySpec
from gateway.control.memory import ROWS_KEY, MemoryKeeper
from gateway.control.settings_store import SettingsStore
from rules.types import memory_from_json

HOUR = 3_600_000_000_000


def _memory(rows: int, tick: int) -> Any:
    """Engine memory with ``rows`` hourly rows for one zone and a trace that changes every tick."""
    data = {
        "zones": {
            "mairie/salle": {
                "model": {"rows": [[h * HOUR, 19.0, 5.0, 0.5, 1.0] for h in range(rows)], "hours": rows},
                "trace": [[tick, 19.0, 0.5, 17.0]],
            }
        }
    }
    return memory_from_json(json.dumps(data))


class CountingStore(SettingsStore):
    """The real store, counting which keys each save writes."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.saves: list[set[str]] = []

    def save_memories(self, values: Any) -> None:
        self.saves.append(set(values))
        super().save_memories(values)


def _keeper(store: SettingsStore) -> MemoryKeeper:
    bank = GpioBank(relays=[RelaySpec("heater", 17)], pin_factory=MockFactory())
    return MemoryKeeper(store=store, bank=bank, pulse_scale={})


def test_rows_are_written_only_when_a_new_hourly_row_appears_and_come_back_after_a_restart(tmp_path: Path):
    # Given a keeper whose memory has 48 hourly rows
    store = CountingStore(tmp_path / "settings.sqlite")
    keeper = _keeper(store)
    keeper.load()
    keeper.current = _memory(48, tick=1)
    keeper.save({}, None, force=True)
    # When the memory changes within the hour, then with a new row
    keeper.current = _memory(48, tick=2)
    keeper.save({}, None, force=True)
    keeper.current = _memory(49, tick=3)
    keeper.save({}, None, force=True)
    # Then the rows were written the first time and with the new row only, the rest every time
    assert store.saves == [{"engine", "shell", ROWS_KEY}, {"engine", "shell"}, {"engine", "shell", ROWS_KEY}]
    assert "rows" not in store.load_memory("engine")["zones"]["mairie/salle"]["model"]
    store.close()
    # And a restart on the same file gets the whole memory back, and does not rewrite unchanged rows
    again = CountingStore(tmp_path / "settings.sqlite")
    restarted = _keeper(again)
    restarted.load()
    assert restarted.current == _memory(49, tick=3)
    restarted.current = _memory(49, tick=4)
    restarted.save({}, None, force=True)
    assert again.saves == [{"engine", "shell"}]
    again.close()


def test_an_engine_memory_saved_with_its_rows_inside_loads_unchanged(tmp_path: Path):
    # Given a settings store written by an older gateway (rows inside ``engine``, no ``engine-rows``)
    store = SettingsStore(tmp_path / "settings.sqlite")
    old = _memory(24, tick=7)
    store.save_memory(json.loads(old.model_dump_json()), "engine")
    # When the keeper loads it, Then nothing is lost
    keeper = _keeper(store)
    keeper.load()
    assert keeper.current == old
    assert len(keeper.current.zones["mairie/salle"].model.rows) == 24
    # And the first save moves the rows to their own key
    keeper.save({}, None, force=True)
    assert len(store.load_memory(ROWS_KEY)["mairie/salle"]) == 24
    store.close()
