"""``[service]``: where state lives, logging, clock policy (issue 6 extends it)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from gateway.schema.base import Section
from gateway.schema.paths import ConfigPath


class ServiceSection(Section):
    """Process-wide settings."""

    state_dir: ConfigPath = Field(default=Path("/var/lib/village-gateway"))
    log_level: Literal["debug", "info", "warning", "error"] = "info"
