"""First-order thermal model of a heated zone, and the heaters that warm it.

Rules of this module: plain deterministic physics, no clock, no I/O; time is stepped by the caller
(the demo in real time, ``village-gateway simulate`` faster than real time).

Model: ``C dT/dt = P_heater + P_gains − UA (T − T_out)`` with ``C`` the effective heat capacity
(kWh/K), ``UA`` the loss coefficient to outside (kW/K) and ``P`` in kW. It is integrated exactly over
a step with constant inputs: ``T(t+dt) = T_eq + (T − T_eq)·exp(−dt/τ)``, ``τ = C/UA``,
``T_eq = T_out + P/UA``, so any step length is stable.

Heaters: :class:`RelayHeater` (full power while its relay is on) and :class:`PilotWireConvector`
(a convector that regulates itself around the setpoint of the order it receives on its fil pilote).
Sensors: :meth:`ThermalZone.sensor_reading` adds Gaussian noise from the caller's seeded RNG and
rounds to 0.01 °C like BLE thermometers.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ThermalParams:
    """Physical parameters of a zone."""

    heat_capacity_kwh_per_k: float
    loss_kw_per_k: float
    heater_kw: float
    initial_c: float = 12.0
    sensor_noise_c: float = 0.05

    def __post_init__(self) -> None:
        if self.heat_capacity_kwh_per_k <= 0 or self.loss_kw_per_k <= 0 or self.heater_kw < 0:
            raise ValueError("heat capacity and loss coefficient must be positive, heater power >= 0")

    @property
    def time_constant_h(self) -> float:
        """τ = C / UA, in hours."""
        return self.heat_capacity_kwh_per_k / self.loss_kw_per_k


@dataclass(slots=True)
class ThermalZone:
    """The air-and-structure temperature of one zone, stepped by the caller.

    Example::

        zone = ThermalZone(ThermalParams(3.2, 0.4, 20.0, initial_c=10.0))
        zone.step(60, heater_kw=20.0, outdoor_c=3.0)   # one minute at full power
    """

    params: ThermalParams
    temperature_c: float = field(default=math.nan)
    energy_kwh: float = 0.0

    def __post_init__(self) -> None:
        if math.isnan(self.temperature_c):
            self.temperature_c = self.params.initial_c

    def step(self, dt_s: float, *, heater_kw: float, outdoor_c: float, gains_kw: float = 0.0) -> None:
        """Advance ``dt_s`` seconds with constant heater power, gains and outdoor temperature."""
        if dt_s <= 0:
            return
        ua = self.params.loss_kw_per_k
        equilibrium = outdoor_c + (heater_kw + gains_kw) / ua
        decay = math.exp(-(dt_s / 3600) / self.params.time_constant_h)
        self.temperature_c = equilibrium + (self.temperature_c - equilibrium) * decay
        self.energy_kwh += heater_kw * dt_s / 3600

    def sensor_reading(self, rng: random.Random) -> float:
        """What a thermometer in the zone reads: the temperature with noise, to 0.01 °C."""
        return round(self.temperature_c + rng.gauss(0.0, self.params.sensor_noise_c), 2)


@dataclass(slots=True)
class RelayHeater:
    """A heater at full power while its relay is closed."""

    power_kw: float

    def power(self, relay_on: bool) -> float:
        """Electrical power drawn (kW)."""
        return self.power_kw if relay_on else 0.0


#: order -> which setpoint the convector holds (None: off)
_ORDER_SETPOINT = {"confort": "confort", "eco": "eco", "hors_gel": "hors_gel", "arret": None}


@dataclass(slots=True)
class PilotWireConvector:
    """Electric convectors regulating themselves around the setpoint of their pilot-wire order.

    Their own thermostat has a small hysteresis (±``band_c``) on the room temperature.
    """

    power_kw: float
    confort_c: float
    eco_c: float
    hors_gel_c: float = 7.0
    band_c: float = 0.25
    heating: bool = False

    def power(self, order: str, room_c: float) -> float:
        """Power drawn (kW) this step for ``order`` ("confort", "eco", "hors_gel", "arret")."""
        which = _ORDER_SETPOINT.get(order)
        if which is None:
            self.heating = False
            return 0.0
        setpoint = {"confort": self.confort_c, "eco": self.eco_c, "hors_gel": self.hors_gel_c}[which]
        if room_c <= setpoint - self.band_c:
            self.heating = True
        elif room_c >= setpoint + self.band_c:
            self.heating = False
        return self.power_kw if self.heating else 0.0
