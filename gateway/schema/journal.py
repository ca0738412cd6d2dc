"""``[journal]``: the durable local outbox every measurement goes through first.

``[journal.archive]``: the hourly aggregates kept for years (charts, energy comparisons,
French BACS rules: CCH R175-3 asks for aggregates kept 5 years).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import Field

from gateway.schema.base import Section
from gateway.schema.paths import ConfigPath


class ArchiveConfig(Section):
    """Hourly mean/min/max/count (and counter deltas) per series, in their own SQLite file."""

    enabled: bool = True
    path: ConfigPath | None = Field(default=None, description="default: <state_dir>/archive.sqlite")
    retention_years: Annotated[int, Field(ge=1, le=50)] = 5
    flush_interval_s: Annotated[float, Field(ge=1, le=3600)] = Field(
        default=300.0,
        description="hourly aggregates written this often (a flush rewrites each series' current hour: SD wear)",
    )


class JournalConfig(Section):
    """Where the journal lives and how much of the SD card it may use."""

    path: ConfigPath | None = Field(default=None, description="default: <state_dir>/journal.sqlite")
    budget_mb: Annotated[float, Field(ge=1, le=100_000)] = 256.0
    commit_interval_s: Annotated[float, Field(ge=0.05, le=30)] = Field(
        default=5.0,
        description="readings wait at most this long for their group commit (relay switches and events: at once)",
    )
    buffer_points: Annotated[int, Field(ge=1000, le=2_000_000)] = 50_000
    archive: ArchiveConfig = Field(default_factory=ArchiveConfig)


def configured_readings_per_s(config: Any) -> float:
    """Readings a second the configuration declares: one per poll of every enabled Modbus device.

    (BLE adverts, inputs and relay changes come when they come: no rate to count.)
    """
    return float(sum(1.0 / dev.interval_s for bus in config.buses.values() for dev in bus.devices if dev.enabled))


def buffer_warnings(config: Any) -> list[tuple[str, str]]:
    """``journal.buffer_points`` too small for one commit window of the declared readings, as ``(path, reason)``.

    Readings wait in memory for their group commit; past ``buffer_points`` the oldest are dropped
    (counted), so the buffer must hold ``readings a second x commit_interval_s``.
    """
    journal: JournalConfig = config.journal
    rate = configured_readings_per_s(config)
    window = rate * journal.commit_interval_s
    if window <= journal.buffer_points:
        return []
    reason = (
        f"{journal.buffer_points:,} readings cannot hold one commit window: the Modbus devices are polled "
        f"{rate:,.4g} times a second, {window:,.0f} readings every "
        f"commit_interval_s = {journal.commit_interval_s:g} s; "
        f"past {journal.buffer_points:,} the oldest readings of each window are dropped before their commit "
        f"(counted in gateway_journal_buffer_overflow_total); write buffer_points = {math.ceil(window):,} or more "
        f"(each buffered reading is held in RAM), or commit_interval_s = "
        f"{math.floor(100 * journal.buffer_points / rate) / 100:g} or less"
    )
    return [("journal.buffer_points", reason)]
