"""The heaters that warm a simulated zone, as their controls see them.

Rules of this module: plain deterministic objects, no clock, no I/O. They say how much electrical
power is drawn this step; how the heat reaches the room (convective or radiant, local heating of the
people) is the zone's :class:`~drivers.sim.zone_params.Emitter`.

* :class:`RelayHeater`: full power while its relay is closed (direct electric heating on a
  contactor: convectors, fan heaters, radiant panels, pew heaters);
* :class:`PilotWireConvector`: electric heaters on fil pilote regulating themselves around the
  setpoint of the order they receive, with their own thermostat (a small hysteresis) on the air
  temperature around them.
"""

from __future__ import annotations

from dataclasses import dataclass


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
