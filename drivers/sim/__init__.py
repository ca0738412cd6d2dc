"""Simulated hardware: real implementations against models, chosen by configuration.

The building model's public face (no side effects on import; archetype files are read on first use)::

    from drivers.sim import zone_params
    params = zone_params("mairie-pierre", 120.0, {"infiltration_ach": 0.4})
    params.time_constant_h, params.ua_kw_per_k, params.heater_kw
"""

from drivers.sim.archetypes import Archetype, ArchetypeError, archetype_names, load_archetype, zone_params
from drivers.sim.zone_params import Emitter, ZoneParams, one_node

__all__ = [
    "Archetype",
    "ArchetypeError",
    "Emitter",
    "ZoneParams",
    "archetype_names",
    "load_archetype",
    "one_node",
    "zone_params",
]
