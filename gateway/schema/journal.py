"""``[journal]``: the durable local outbox every measurement goes through first.

``[journal.archive]``: the hourly aggregates kept for years (charts, energy comparisons,
French BACS rules: CCH R175-3 asks for aggregates kept 5 years).
"""

from __future__ import annotations

from typing import Annotated

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
