"""A year and more of the example village's simulated history, seeded once per test session.

Fixture ``village_year``: ``(config, archive path, end)``: examples/village.toml with its state in a
temporary directory whose hourly archive holds 400 days of :mod:`gateway.demo_history` ending at
:data:`END` (Friday 27 November 2026, 12:00 in Paris), so every figure is the same whatever the date
the tests run on. Read it, never write it (tests share it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
END = datetime(2026, 11, 27, 11, tzinfo=UTC)
DAYS = 400


def village_config(state_dir: Path) -> Any:
    from gateway.config import load_config

    config = load_config(ROOT / "examples" / "village.toml")
    return config.model_copy(update={"service": config.service.model_copy(update={"state_dir": state_dir})})


@pytest.fixture(scope="session")
def village_year(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, datetime]:
    from gateway.demo_history import seed_history

    state = tmp_path_factory.mktemp("village-year")
    config = village_config(state)
    path = state / "archive.sqlite"
    result = seed_history(config, path, days=DAYS, end=END)
    assert result.seeded, result.message
    return config, path, END
