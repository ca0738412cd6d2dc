"""``[service]``: where state lives, logging, and the clock policy of a Pi without RTC.

``[service.clock]`` says when the wall clock is trusted and what schedules do while it is not
(see :mod:`gateway.clock_guard` and docs/install.md, "Time on a Pi without a clock").
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from gateway.schema.base import Section
from gateway.schema.paths import ConfigPath


class ClockPolicy(Section):
    """When the clock is trusted, and the safe modes schedules fall back to when it is not."""

    require_sync: bool = Field(
        default=True,
        description="distrust the clock until the kernel reports NTP synchronisation; "
        "set false only on a Pi with a battery-backed RTC or GPS time",
    )
    check_interval_s: Annotated[float, Field(ge=0.5, le=600)] = 10.0
    step_threshold_s: Annotated[float, Field(ge=0.5, le=3600)] = 5.0
    persist_interval_s: Annotated[float, Field(ge=10, le=86_400)] = 600.0
    accept_behind_after_s: Annotated[float, Field(ge=0, le=30 * 86_400)] = 3600.0
    safe_heating: Literal["confort", "eco", "hors-gel", "arret"] = "eco"
    safe_lighting: Literal["sensor", "off"] = "sensor"


class ServiceSection(Section):
    """Process-wide settings."""

    state_dir: ConfigPath = Field(default=Path("/var/lib/village-gateway"))
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    user: str = Field(default="village-gateway", min_length=1, description="the service's system user")
    clock: ClockPolicy = Field(default_factory=ClockPolicy)
