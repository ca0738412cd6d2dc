"""The storage services in the real daemon: group commit, final commit on stop, archive fed, events raised."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from gateway.config import GatewayConfig, parse_config
from gateway.daemon import Daemon, RunOptions
from gateway.journal import Journal
from gateway.model import Reading


def config(state_dir: Path) -> GatewayConfig:
    return parse_config(f"""
[site]
id = "st-martin"
name = "Saint-Martin"
latitude = 45.0
longitude = 5.0
[service]
state_dir = "{state_dir}"
[journal]
commit_interval_s = 0.1
[journal.archive]
flush_interval_s = 1
""")


async def test_daemon_commits_feeds_the_archive_and_raises_journal_events(tmp_path: Path) -> None:
    (tmp_path / "journal.sqlite").write_bytes(b"not a database " * 100)
    daemon = Daemon(config(tmp_path), RunOptions())
    core = daemon.build()
    assert {"journal", "journal-close", "archive"} <= {s.name for s in daemon.services}
    task = asyncio.create_task(daemon.run())
    await asyncio.wait_for(daemon.started.wait(), 10)
    assert "journal_recovered" in [e.kind for e in core.recent_events]  # raised once the core exists
    now = time.time_ns()
    for i in range(50):
        core.publish(Reading.make("meter", core.tags(device="m1"), {"power_w": float(i), "energy_import_kwh": i / 10},
                                  time_ns=now + i))
    journal: Journal = core.journal  # type: ignore[assignment]
    for _ in range(50):
        await asyncio.sleep(0.05)
        if journal.stats().committed >= 50:
            break
    assert journal.stats().committed >= 50  # group commit ran without anyone calling commit()
    core.publish(Reading.make("meter", core.tags(device="m1"), {"power_w": 99.0}, time_ns=now + 100))
    daemon.stop()
    await asyncio.wait_for(task, 10)
    archive = daemon.parts.archive
    hour = now - now % (3600 * 10**9)
    series = archive_series(tmp_path, hour)
    assert series["power_w"][0] == 51  # every published point, including the one just before stop
    assert series["energy_import_kwh"][1] == 4.9  # counter delta over the hour
    assert archive.path == tmp_path / "archive.sqlite"
    assert not (tmp_path / "journal.sqlite-wal").exists()  # closed cleanly, last of all (checkpointed)


def archive_series(state_dir: Path, hour: int) -> dict[str, tuple[int, float | None]]:
    from gateway.archive import read_hours

    return {r.field: (r.count, None if r.delta is None else round(r.delta, 6))
            for r in read_hours(state_dir / "archive.sqlite", hour, hour + 3600 * 10**9)}
