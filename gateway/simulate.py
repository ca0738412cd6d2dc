"""What-if simulation (``village-gateway simulate``): see :mod:`gateway.simulation`.

This module keeps the first version's import path: ``from gateway.simulate import simulate``.
"""

from __future__ import annotations

from gateway.simulation import SimulationError, Trace, simulate, site_of

__all__ = ["SimulationError", "Trace", "simulate", "site_of"]
