"""A zone's physical parameters: from building archetype data (per m²) to the model's conductances.

Rules of this module: pure functions and frozen values, no I/O; :func:`derive` turns an archetype's
per-m² figures, a floor area and overrides into a :class:`ZoneParams` (what
:class:`drivers.sim.zone_model.ZoneModel` integrates, with derived figures such as the time
constant and the total loss coefficient, for the control model's prior too).

The network is ISO 13790:2008's hourly "5R1C" model (§7.2.2, Annex C) with its massless surface node
``s`` eliminated exactly (star–mesh transform) so that two nodes remain (air, mass):

* ``H_ve`` air–outside: infiltration (+ ventilation per person and open windows, added at run time);
* ``H_is = h_is · Λ_at · A_f`` air–surface, h_is = 3.45 W/(m²·K), Λ_at = 4.5 (§7.2.2.2);
* ``H_w`` surface–outside: glazing U × area (§8.3);
* ``H_ms = h_ms · A_m`` surface–mass, h_ms = 9.1 W/(m²·K), A_m = ratio × A_f (§12.2.2, Table 12);
* ``H_em = 1 / (1/H_op − 1/H_ms)`` mass–outside, the opaque envelope H_op (§12.2.2).

Eliminating ``s`` (Σ = H_is + H_w + H_ms) gives h_am = H_is·H_ms/Σ, h_ao = H_ve + H_is·H_w/Σ,
h_mo = H_em + H_ms·H_w/Σ. Radiant heat Φ goes as in ISO 13790 Annex C (eq. C.2–C.3): A_m/A_t of it
to the mass, (1 − A_m/A_t − H_w/(9.1·A_t)) to the surface node (then H_is/Σ to the air, H_ms/Σ to the
mass, H_w/Σ out through the glass), the rest straight out through the glazing. Air node capacity:
0.34 Wh/(m³·K) of air plus 10 kJ/(m²·K) of floor for furniture (ISO 52016-1:2017, Table B.17).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

EmitterKind = Literal["convector", "fan_heater", "radiant", "local"]

#: Convective fraction of each emitter's output (the rest is radiant). Electric convectors and
#: baseboards are modelled as (almost) purely convective (EnergyPlus ZoneHVAC:Baseboard:Convective);
#: fan heaters (aérothermes) entirely; radiant panels and radiant tubes give 50–70 % by radiation
#: (EN 442-type radiators already 30–35 %); pew heaters about half and half.
CONVECTIVE: Mapping[str, float] = {"convector": 0.9, "fan_heater": 1.0, "radiant": 0.4, "local": 0.5}
#: Time constant (minutes) of each emitter's heat output after its power is switched: a fan heater's
#: element within a minute, an electric convector's element and casing several minutes, a radiant
#: panel's plate (steel, cast aluminium) ten or so, pew heaters a few. Orders of magnitude: makers rarely
#: publish them; grey-box identification of rooms with electric heaters needs a heater state of minutes
#: to ten minutes (Bacher & Madsen, Energy and Buildings 43, 2011); water radiators (EN 442) 10–20 min.
EMITTER_LAG_MIN: Mapping[str, float] = {"convector": 6.0, "fan_heater": 1.0, "radiant": 10.0, "local": 5.0}
#: Time constant of the thermometers in their case, minutes. 0 (they read the air) by default, as the
#: issue specifies; a BLE thermometer in still air takes ~5–10 min, which with an on/off heater widens
#: the air's swings around the setpoint (``sensor_lag_min`` per zone to study it).
SENSOR_LAG_MIN = 0.0

AIR_WH_PER_M3K = 0.34  # ρ·c of air, Wh/(m³·K)
FURNITURE_KJ_PER_M2K = 10.0  # ISO 52016-1:2017 Table B.17: internal environment (air + furniture)
H_IS_W_PER_M2K = 3.45  # ISO 13790 §7.2.2.2
LAMBDA_AT = 4.5  # ISO 13790 §7.2.2.2: A_t = 4.5 A_f
H_MS_W_PER_M2K = 9.1  # ISO 13790 §12.2.2
FRAME_FRACTION = 0.3  # ISO 13790 §11.4.5 default frame area fraction F_F
G_NORMAL_TO_MEAN = 0.9  # ISO 13790 §11.4.2: F_w, g_gl = 0.9 g_n for non-scattering glazing
#: azimuth of each façade orientation, degrees clockwise from north (astral's convention)
ORIENTATIONS: Mapping[str, float] = {"north": 0.0, "east": 90.0, "south": 180.0, "west": 270.0}


@dataclass(frozen=True, slots=True)
class Emitter:
    """How a zone's heater delivers its heat."""

    kind: EmitterKind = "convector"
    convective: float = 0.9
    boost_c: float = 0.0  # local heating: felt − air at full power, once warm (°C)
    warm_min: float = 15.0  # local heating: time constant of that boost (minutes)
    lag_min: float = 0.0  # time constant of its heat output after a switch (minutes)

    def __post_init__(self) -> None:
        if not 0 <= self.convective <= 1:
            raise ValueError("an emitter's convective fraction is between 0 and 1")
        if self.lag_min < 0:
            raise ValueError("an emitter's lag is >= 0")
        if self.warm_min <= 0 or self.boost_c < 0:
            raise ValueError("local heating needs warm_min > 0 and boost_c >= 0")


@dataclass(frozen=True, slots=True)
class ZoneParams:
    """What the zone model integrates (kWh/K, kW/K, kW, °C), and where it came from.

    ``c_mass_kwh_per_k == 0`` is the one-node shorthand (old first-order model): all heat enters the
    single node, ``h_ao_kw_per_k`` is its loss coefficient.
    """

    c_air_kwh_per_k: float
    c_mass_kwh_per_k: float
    h_am_kw_per_k: float
    h_ao_kw_per_k: float
    h_mo_kw_per_k: float
    heater_kw: float
    emitter: Emitter = Emitter()
    rad_to_air: float = 1.0
    rad_to_mass: float = 0.0
    rad_lost: float = 0.0
    #: (façade azimuth °, effective collecting area m² = A_glazing·(1 − F_F)·F_w·g_n·shading)
    apertures: tuple[tuple[float, float], ...] = ()
    people: float = 0.0  # present while occupied
    person_w: float = 75.0  # sensible heat of one person (W), half convective, half radiant
    vent_kw_per_k_per_person: float = 0.0  # hygienic ventilation while occupied
    internal_kw: float = 0.0  # lighting and equipment while occupied, half convective
    window_loss_kw_per_k: float = 0.2  # one opened casement window
    initial_c: float = 12.0
    sensor_noise_c: float = 0.05
    sensor_lag_min: float = 0.0  # thermometers' time constant in their case (0: they read the air)
    archetype: str | None = None
    floor_area_m2: float | None = None
    volume_m3: float | None = None

    def __post_init__(self) -> None:
        if self.c_air_kwh_per_k <= 0 or self.h_ao_kw_per_k <= 0:
            raise ValueError("heat capacity and loss coefficient must be positive")
        if self.c_mass_kwh_per_k < 0 or self.h_mo_kw_per_k < 0 or self.heater_kw < 0:
            raise ValueError("mass capacity, mass loss and heater power must be >= 0")
        if self.sensor_lag_min < 0:
            raise ValueError("sensor_lag_min must be >= 0")
        if self.c_mass_kwh_per_k > 0 and self.h_am_kw_per_k <= 0:
            raise ValueError("a mass node needs a positive air-to-mass conductance")
        total = self.rad_to_air + self.rad_to_mass + self.rad_lost
        if min(self.rad_to_air, self.rad_to_mass, self.rad_lost) < 0 or not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError("radiant fractions must be >= 0 and sum to 1")

    @property
    def one_node(self) -> bool:
        """Whether this is the old first-order model (no mass node)."""
        return self.c_mass_kwh_per_k <= 0

    @property
    def heat_capacity_kwh_per_k(self) -> float:
        """Total heat capacity (air + structure), kWh/K."""
        return self.c_air_kwh_per_k + self.c_mass_kwh_per_k

    @property
    def ua_kw_per_k(self) -> float:
        """Steady-state loss coefficient of the unoccupied zone, air and structure at one temperature."""
        return self.h_ao_kw_per_k + self.h_mo_kw_per_k

    @property
    def ua_occupied_kw_per_k(self) -> float:
        """The same with the occupants' hygienic ventilation."""
        return self.ua_kw_per_k + self.people * self.vent_kw_per_k_per_person

    @property
    def time_constant_h(self) -> float:
        """τ = C / UA (hours): how slowly the whole zone cools when the heating stops."""
        return self.heat_capacity_kwh_per_k / self.ua_kw_per_k

    @property
    def air_time_constant_h(self) -> float:
        """How fast the air alone follows a change (window, heater), the structure held: hours."""
        return self.c_air_kwh_per_k / (self.h_am_kw_per_k + self.h_ao_kw_per_k)

    def design_load_kw(self, indoor_c: float, outdoor_c: float) -> float:
        """Heat loss at design conditions, occupied (kW)."""
        return self.ua_occupied_kw_per_k * max(0.0, indoor_c - outdoor_c)

    def figures(self) -> dict[str, float | str | None]:
        """Derived figures for reports (rounded)."""
        return {
            "archetype": self.archetype,
            "emitter": self.emitter.kind,
            "floor_area_m2": self.floor_area_m2,
            "heater_kw": round(self.heater_kw, 1),
            "ua_kw_per_k": round(self.ua_kw_per_k, 3),
            "heat_capacity_kwh_per_k": round(self.heat_capacity_kwh_per_k, 2),
            "time_constant_h": round(self.time_constant_h, 1),
            "air_time_constant_min": round(self.air_time_constant_h * 60, 1),
            "people": self.people,
        }


def one_node(
    heat_capacity_kwh_per_k: float,
    loss_kw_per_k: float,
    heater_kw: float,
    *,
    initial_c: float = 12.0,
    sensor_noise_c: float = 0.05,
    emitter: Emitter = Emitter("convector", 1.0),
    people: float = 0.0,
) -> ZoneParams:
    """The one-node shorthand: ``C dT/dt = P − UA (T − T_out)``, as the first version simulated."""
    return ZoneParams(
        c_air_kwh_per_k=heat_capacity_kwh_per_k,
        c_mass_kwh_per_k=0.0,
        h_am_kw_per_k=0.0,
        h_ao_kw_per_k=loss_kw_per_k,
        h_mo_kw_per_k=0.0,
        heater_kw=heater_kw,
        emitter=emitter,
        people=people,
        initial_c=initial_c,
        sensor_noise_c=sensor_noise_c,
    )


@dataclass(frozen=True, slots=True)
class Figures:
    """An archetype's per-m² figures (see drivers/sim/archetypes/*.toml for their meaning and sources)."""

    height_m: float
    mass_kj_per_m2k: float
    mass_area_ratio: float
    opaque_w_per_m2k: float
    glazing_ratio: float
    glazing_u_w_per_m2k: float
    glazing_g: float
    glazing_south: float
    glazing_east: float
    glazing_west: float
    glazing_north: float
    shading_factor: float
    infiltration_ach: float
    people_per_m2: float
    person_w: float
    vent_m3h_per_person: float
    internal_w_per_m2: float
    design_indoor_c: float
    heater_sizing: float
    emitter: EmitterKind
    local_kw_per_person: float
    boost_c: float
    warm_min: float
    window_loss_kw_per_k: float
    emitter_lag_min: float | None = None  # None: the emitter kind's (EMITTER_LAG_MIN)


def derive(
    figures: Figures,
    floor_area_m2: float,
    *,
    archetype: str | None = None,
    people: float | None = None,
    heater_kw: float | None = None,
    design_outdoor_c: float = -7.0,
    initial_c: float = 12.0,
    sensor_noise_c: float = 0.05,
    sensor_lag_min: float = SENSOR_LAG_MIN,
) -> ZoneParams:
    """The model of a zone of ``floor_area_m2`` built like ``figures`` (module header: the network).

    ``heater_kw`` defaults to ``heater_sizing ×`` the occupied design load at ``design_indoor_c`` /
    ``design_outdoor_c`` (rounded to 0.5 kW); for local heating to ``local_kw_per_person × people``.
    """
    f, af = figures, floor_area_m2
    if af <= 0:
        raise ValueError("floor_area_m2 must be positive")
    volume = af * f.height_m
    c_air = (AIR_WH_PER_M3K * volume + FURNITURE_KJ_PER_M2K * af / 3.6) / 1000
    c_mass = f.mass_kj_per_m2k * af / 3600
    glazing = f.glazing_ratio * af
    h_ve = AIR_WH_PER_M3K * f.infiltration_ach * volume / 1000
    h_is = H_IS_W_PER_M2K * LAMBDA_AT * af / 1000
    h_w = f.glazing_u_w_per_m2k * glazing / 1000
    a_m = f.mass_area_ratio * af
    h_ms = H_MS_W_PER_M2K * a_m / 1000
    h_op = f.opaque_w_per_m2k * af / 1000
    if h_op >= h_ms:
        raise ValueError("opaque_w_per_m2k is larger than the internal surface exchange allows (lower it)")
    h_em = 1 / (1 / h_op - 1 / h_ms) if h_op > 0 else 0.0
    sigma = h_is + h_w + h_ms
    a_t = LAMBDA_AT * af
    to_mass0 = a_m / a_t
    lost0 = h_w / (H_MS_W_PER_M2K / 1000 * a_t)
    to_surface = max(0.0, 1 - to_mass0 - lost0)
    lost0 = 1 - to_mass0 - to_surface
    rad_air = to_surface * h_is / sigma
    rad_mass = to_mass0 + to_surface * h_ms / sigma
    shares = {"south": f.glazing_south, "east": f.glazing_east, "west": f.glazing_west, "north": f.glazing_north}
    if not math.isclose(sum(shares.values()), 1.0, abs_tol=0.011):
        raise ValueError("glazing_south + glazing_east + glazing_west + glazing_north must be 1")
    collect = glazing * (1 - FRAME_FRACTION) * G_NORMAL_TO_MEAN * f.glazing_g * f.shading_factor
    apertures = tuple((ORIENTATIONS[o], collect * s) for o, s in shares.items() if s > 0 and collect > 0)
    occupants = round(f.people_per_m2 * af) if people is None else people
    lag = EMITTER_LAG_MIN[f.emitter] if f.emitter_lag_min is None else f.emitter_lag_min
    emitter = Emitter(f.emitter, CONVECTIVE[f.emitter], f.boost_c, f.warm_min, lag)
    params = ZoneParams(
        c_air_kwh_per_k=c_air,
        c_mass_kwh_per_k=c_mass,
        h_am_kw_per_k=h_is * h_ms / sigma,
        h_ao_kw_per_k=h_ve + h_is * h_w / sigma,
        h_mo_kw_per_k=h_em + h_ms * h_w / sigma,
        heater_kw=0.0,
        emitter=emitter,
        rad_to_air=rad_air,
        rad_to_mass=rad_mass,
        rad_lost=1 - rad_air - rad_mass,
        apertures=apertures,
        people=occupants,
        person_w=f.person_w,
        vent_kw_per_k_per_person=AIR_WH_PER_M3K * f.vent_m3h_per_person / 1000,
        internal_kw=f.internal_w_per_m2 * af / 1000,
        window_loss_kw_per_k=f.window_loss_kw_per_k,
        initial_c=initial_c,
        sensor_noise_c=sensor_noise_c,
        sensor_lag_min=sensor_lag_min,
        archetype=archetype,
        floor_area_m2=af,
        volume_m3=volume,
    )
    if heater_kw is None:
        if f.emitter == "local":
            heater_kw = round(f.local_kw_per_person * occupants * 2) / 2
        else:
            load = params.design_load_kw(f.design_indoor_c, design_outdoor_c)
            heater_kw = round(f.heater_sizing * load * 2) / 2
    return replace(params, heater_kw=heater_kw)
