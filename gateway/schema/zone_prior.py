"""A zone's declared building (``heating.model``) turned into the rules' starting point.

Rules of this module: pure; reads the archetype tables of :mod:`drivers.sim.archetypes` (packaged data,
the same tables the simulator builds its zones from); raises ``ValueError`` with a plain message,
which the configuration loader reports with the file, line and field.

The rules' model (rules.thermal) is normalised by the heater's power: every conductance and
capacity of the archetype, sized to the zone's floor area, is divided by the declared
``heater_kw`` (or the archetype's own sizing, 1.2–1.5 × the design load, when it is not declared).
"""

from __future__ import annotations

from rules.heating_config import HeatingConfig


def with_prior(heating: HeatingConfig) -> HeatingConfig:
    """``heating`` with ``model.prior`` filled from its archetype (unchanged without one)."""
    model = heating.model
    if model.archetype is None:
        return heating
    if model.floor_area_m2 is None:
        raise ValueError("model.floor_area_m2 is needed with an archetype (the zone's heated floor area, m²)")
    from drivers.sim.archetypes import ArchetypeError, zone_params  # only a zone with an archetype loads them

    try:
        p = zone_params(model.archetype, model.floor_area_m2, heater_kw=model.heater_kw)
    except ArchetypeError as exc:
        raise ValueError(str(exc)) from exc
    power = p.heater_kw
    if power <= 0 or p.one_node:
        raise ValueError(f"archetype {model.archetype!r} gives no heater power or no structure")
    radiant_to_air = (1 - p.emitter.convective) * p.rad_to_air
    air_share = p.emitter.convective + radiant_to_air
    if "emitter" in model.model_fields_set:  # the installer's word wins over the archetype's
        air_share = {"convector": 0.9, "radiant": 0.5}[model.emitter]
    gains = p.people * p.person_w / 1000 + p.internal_kw
    prior = (
        p.h_ao_kw_per_k / power,
        p.h_am_kw_per_k / power,
        p.h_mo_kw_per_k / power,
        p.c_mass_kwh_per_k / power,
        p.c_air_kwh_per_k / power,
        gains / power,
        p.people * p.vent_kw_per_k_per_person / power,
        air_share,
    )
    update: dict[str, object] = {"prior": prior}
    if model.lag_min is None:  # the archetype's heaters' own lag
        update["lag_min"] = p.emitter.lag_min
    return heating.model_copy(update={"model": model.model_copy(update=update)})
