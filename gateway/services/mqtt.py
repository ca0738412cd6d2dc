"""Services of this subsystem (placeholder until its issue lands)."""

from __future__ import annotations

from typing import Any

from gateway.service import Service


def build(config: Any, core: Any, options: Any) -> list[Service]:
    """No services yet."""
    return []
