"""``[journal]``: the durable local outbox every measurement goes through first."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from gateway.schema.base import Section
from gateway.schema.paths import ConfigPath


class JournalConfig(Section):
    """Where the journal lives and how much of the SD card it may use."""

    path: ConfigPath | None = Field(default=None, description="default: <state_dir>/journal.sqlite")
    budget_mb: Annotated[float, Field(ge=1, le=100_000)] = 256.0
    commit_interval_s: Annotated[float, Field(ge=0.05, le=30)] = 1.0
