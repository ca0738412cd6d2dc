"""``[simulation]``: the simulated village (OWNED BY issue 3; placeholder)."""

from __future__ import annotations

from gateway.schema.base import Section


class SimulationSection(Section):
    """Thermal models, outdoor profile, sensor outages."""
