"""The demo with a history, for the browser tests and the page-load benchmark.

:func:`prepare_demo_history` seeds the state directory's hourly archive with days of the simulated
village's past, exactly as ``village-gateway demo --history-days N`` does (:mod:`gateway.demo_history`);
the tests then run the real ``village-gateway demo --http HOST:PORT --state-dir DIR`` (:func:`demo_argv`)
on it and read the demo account it prints (:func:`demo_credentials`).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from gateway.demo_history import SeedResult

ROOT = Path(__file__).resolve().parents[2]


def demo_argv(state_dir: Path, http: str, *, history_days: int = 0) -> list[str]:
    """``village-gateway demo`` on ``http`` with its state in ``state_dir``, as a new user runs it."""
    argv = [
        sys.executable,
        "-u",
        "-m",
        "gateway.cli",
        "demo",
        "--http",
        http,
        "--state-dir",
        str(state_dir),
        "--status-every",
        "3600",
    ]
    return [*argv, "--history-days", str(history_days)] if history_days else argv


def prepare_demo_history(state_dir: Path, days: int) -> SeedResult:
    """Seed ``state_dir``'s hourly archive with ``days`` of the demo village's history."""
    from gateway.commands.demo import archive_path, default_config_path, prepare_config
    from gateway.config import load_config
    from gateway.demo_history import seed_history

    state_dir.mkdir(parents=True, exist_ok=True)
    config = prepare_config(load_config(default_config_path()), state_dir)
    return seed_history(config, archive_path(config), days=days)


def demo_credentials(log_text: str) -> dict[str, str]:
    """The demo account the demo printed: ``login 'demo', password '...'``."""
    match = re.search(r"login '([^']+)', password '([^']+)'", log_text)
    if match is None:
        raise RuntimeError(f"the demo printed no credentials:\n{log_text[-2000:]}")
    return {"user": match.group(1), "password": match.group(2)}
