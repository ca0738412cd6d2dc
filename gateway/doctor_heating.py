"""``doctor``'s heating check: the configuration warnings about a zone's fail-safe (issue 10).

Rules of this module: one small check, kept apart from gateway/doctor.py's machine probes; it reports
what :mod:`gateway.schema.config_warnings` finds (frost risks, fail-safes blind to the weather) as
``WARN`` findings located in the file, and one ``OK`` line otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gateway.doctor_finding import Finding
from gateway.schema.config_warnings import located


def check_heating(config: Any, config_path: Path) -> Iterator[Finding]:
    """Each heating warning of the configuration, or that every heated zone's fail-safe is sound."""
    warnings = located(config, config_path)
    for warning in warnings:
        yield Finding("WARN", "heating", f"{warning}")
    if not warnings:
        heated = sum(1 for b in config.buildings.values() for z in b.zones.values() if z.heating is not None)
        yield Finding("OK", "heating", f"{heated} heated zones, no fail-safe warning")
