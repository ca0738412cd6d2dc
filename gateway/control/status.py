"""The façade's view of a decision: each zone and circuit now and why, and the alerts to show.

Rules of this module: no I/O; it reads a decision, the pins' levels, the state store's snapshot
and the recent events, and returns the immutable :class:`gateway.control.values.Evaluation`
the façade publishes. Sunrise and sunset come from astral, cached per local day.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from astral import LocationInfo
from astral.sun import sun

from drivers.gpio import GpioBank
from gateway.control.alerts import recent_alerts
from gateway.control.values import Alert, CircuitStatus, Evaluation, ZoneStatus
from rules.config import Site
from rules.types import Decision, InputState

if TYPE_CHECKING:
    from gateway.config import GatewayConfig
    from gateway.core import Core
    from gateway.schema.site import SiteConfig


_SUN_CACHE: dict[tuple[float, float, str], tuple[datetime | None, datetime | None]] = {}


class StatusBuilder:
    """Builds the :class:`Evaluation` of each decision for one configuration."""

    def __init__(self, *, config: GatewayConfig, core: Core, bank: GpioBank, lang: str) -> None:
        self.config = config
        self.core = core
        self.bank = bank
        self.lang = lang
        self._names = {
            f"{b}/{z}": (building.name, zone.name)
            for b, building in config.buildings.items()
            for z, zone in building.zones.items()
        }

    def view(
        self,
        decision: Decision,
        now: datetime,
        *,
        site: Site | None,
        inputs: Mapping[str, InputState],
        flows: Mapping[str, float],
    ) -> Evaluation:
        """What the overview shows after ``decision``."""
        relays = self.bank.relay_states()
        snapshot = self.core.state.snapshot()
        zones: list[ZoneStatus] = []
        for z in decision.zones:
            building, zone = z.zone.split("/", 1)
            spec = site.zone(z.zone) if site else None
            sensors = spec.heating.sensors if spec else []
            times = [s.time_ns for d in sensors if (s := snapshot.value(d, "temperature_c")) is not None]
            newest = max(times, default=None)
            stale_s = spec.heating.failsafe.stale_after_min * 60 if spec else 900
            contacts = spec.heating.window.contacts if spec else []
            window = any(inputs.get(c, InputState(False, 0)).active for c in contacts)
            memory = decision.memory.zones.get(z.zone)
            outputs = tuple((o, relays.get(o, False)) for o in (spec.heating.outputs if spec else ()))
            names = self._names.get(z.zone, (building, zone))
            zones.append(
                ZoneStatus(
                    building=building,
                    building_name=names[0],
                    zone=zone,
                    name=names[1],
                    temperature_c=z.measured_c,
                    temperature_time=_dt(newest),
                    stale=newest is None or (decision.now_ns - newest) / 1e9 > stale_s,
                    target_c=z.target_c,
                    mode=z.mode,
                    heater_on=z.heating,
                    window_open=window or bool(memory and memory.window_open_since_ns),
                    reason=z.reason.text(self.lang),
                    outputs=outputs,
                    reason_detail=z.reason,
                    model=z.model,
                )
            )
        circuits = []
        for c in decision.circuits:
            cfg = self.config.lighting.circuits.get(c.circuit)
            sunrise, sunset = sun_times(self.config.site, now)
            circuits.append(
                CircuitStatus(
                    circuit=c.circuit,
                    name=(cfg.name if cfg and cfg.name else c.circuit),
                    building=None,
                    on=relays.get(cfg.relay, c.on) if cfg else c.on,
                    reason=c.reason.text(self.lang),
                    reason_detail=c.reason,
                    sunrise=sunrise,
                    sunset=sunset,
                )
            )
        return Evaluation(
            at=now,
            zones=tuple(zones),
            circuits=tuple(circuits),
            alerts=self.alerts(decision),
            meter_flows=MappingProxyType(dict(flows)),
        )

    def alerts(self, decision: Decision) -> tuple[Alert, ...]:
        """The latest warning/alarm per (kind, subject) of the last 24 h not resolved since."""
        return recent_alerts(self.core.recent_events, decision.now_ns)


def sun_times(site: SiteConfig, now: datetime) -> tuple[datetime | None, datetime | None]:
    """Today's sunrise and sunset at the site (astral), cached per local day."""
    tz = ZoneInfo(site.timezone)
    day = now.astimezone(tz).date()
    key = (site.latitude, site.longitude, day.isoformat())
    if key not in _SUN_CACHE:
        try:
            times = sun(
                LocationInfo("", "", site.timezone, site.latitude, site.longitude).observer,
                date=day,
                tzinfo=tz,
            )
            _SUN_CACHE[key] = (times["sunrise"], times["sunset"])
        except ValueError:  # polar day or night
            _SUN_CACHE[key] = (None, None)
        if len(_SUN_CACHE) > 8:
            _SUN_CACHE.pop(next(iter(_SUN_CACHE)))
    return _SUN_CACHE[key]


def _dt(time_ns: int | None) -> datetime | None:
    return None if time_ns is None else datetime.fromtimestamp(time_ns / 1e9, UTC)
