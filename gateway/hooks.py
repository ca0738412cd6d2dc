"""Test and simulation knobs of a daemon, typed: none of them is set in production.

Rules of this module: one frozen value, passed to the daemon in :class:`gateway.daemon.RunOptions`
and read by the builders that need a knob (each reads its own fields, nothing else travels in it);
what the daemon *builds* is in :class:`gateway.daemon.Parts`, never here.

Example::

    RunOptions(demo=True, hooks=Hooks(plant_period_s=0.5, sim_ble_interval_s=0.5))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drivers.ble import RadioFactory
    from gateway.systemd_notify import Notifier

#: The rules tick of production (the product brief: about 30 s).
TICK_S = 30.0
#: At start, readings do not trigger evaluations for this long (the first tick or edit still does).
STARTUP_GRACE_S = 30.0

#: ``(building, zone) -> °C or None``: the temperature a simulated BLE sensor of that zone reports.
ZoneTemperature = Callable[[str, "str | None"], "float | None"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Hooks:
    """Knobs for tests, benchmarks and the demo."""

    #: the rules tick (seconds of monotonic time)
    control_tick_s: float = TICK_S
    #: start-up grace before readings trigger evaluations; ``None``: ``min(STARTUP_GRACE_S, tick)``
    control_startup_grace_s: float | None = None
    #: a simulated plant (thermal model on the relays' pins) even outside the demo
    plant: bool = False
    plant_period_s: float = 10.0
    #: how much faster rooms respond than real ones; ``None``: 10 in the demo, 1 otherwise
    plant_capacity_divisor: float | None = None
    #: zone key ("building/zone") -> its temperature at the start
    plant_initial_c: Mapping[str, float] | None = None
    #: the BLE radio (a simulated one); ``None``: bleak, or the simulated sensors in the demo
    ble_radio_factory: RadioFactory | None = None
    sim_ble_interval_s: float = 5.0
    #: what the simulated BLE sensors report; ``None``: the plant's temperatures when there is one
    sim_zone_temperature: ZoneTemperature | None = None
    #: systemd notifications; ``None``: from ``$NOTIFY_SOCKET``
    notifier: Notifier | None = None

    def startup_grace_s(self) -> float:
        """The control loop's start-up grace."""
        if self.control_startup_grace_s is not None:
            return self.control_startup_grace_s
        return min(STARTUP_GRACE_S, self.control_tick_s)
