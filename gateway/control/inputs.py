"""What control reads: the state store, the GPIO inputs, the settings store; turned into the rules' ``State``.

Rules of this module:
- control reads only the in-memory state store, the GPIO pins and the local settings store, never
  the network or InfluxDB;
- the latest value of each field of the devices the rules use is kept by arrival, not by stamp:
  after a backward clock step the state store keeps the older-stamped-later sample, while the
  newest measurement is the one that arrived last;
- readings measured before a clock step are moved by the step (:meth:`Inputs.shift`) until a newer
  reading replaces them;
- the site the rules see is the configured one with the settings store's schedule edits layered
  over it (:func:`effective_site`), rebuilt only when the store's version changes;
- a settings row the rules cannot use is skipped, counted, and said once (``settings_row_invalid``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from drivers.gpio import Edge, GpioBank
from gateway.control.clock_steps import closer
from gateway.control.settings_store import SettingsStore
from gateway.control.values import Override
from gateway.control.views import CounterRate, slots_from_periods
from gateway.model import Reading
from gateway.words import say
from rules.config import MODES, Period, Site, Slot, ZoneSpec, site_from_config
from rules.types import Booking, InputState, LightOverride, Memory, SensorValue, State

if TYPE_CHECKING:
    from gateway.config import GatewayConfig
    from gateway.core import Core


log = logging.getLogger("gateway.control")

#: ``raise_event(kind, severity, message, subject)``: how a skipped row is said.
RaiseEvent = Callable[[str, str, str, str], None]


def effective_site(config: GatewayConfig, store: SettingsStore) -> Site:
    """The configured site with the schedule edits of the settings store layered over it."""
    site = site_from_config(config)
    weeks = store.weeks()
    extra: dict[str, list[Period]] = {}
    for subject, exc in store.all_exceptions():
        slots = tuple(Slot.model_validate(s) for s in slots_from_periods(exc.periods))
        extra.setdefault(subject, []).append(
            Period(name=exc.label or f"exception {exc.id}", start=exc.start, end=exc.end, schedule=slots)
        )
    if not weeks and not extra:
        return site
    zones: list[ZoneSpec] = []
    for zone in site.zones:
        update: dict[str, Any] = {}
        if zone.key in weeks:
            update["schedule"] = tuple(Slot.model_validate(s) for s in slots_from_periods(weeks[zone.key]))
        if zone.key in extra:
            update["exceptions"] = (*zone.heating.exceptions, *extra[zone.key])
        zones.append(zone.model_copy(update={"heating": zone.heating.model_copy(update=update)}) if update else zone)
    return site.model_copy(update={"zones": tuple(zones)})


def relevant_devices(config: GatewayConfig) -> frozenset[str]:
    """The devices whose readings the rules use (zone sensors, outdoor sensors, leak meters)."""
    devices: set[str] = set()
    for building in config.buildings.values():
        for zone in building.zones.values():
            if zone.heating is not None:
                devices.update(zone.heating.sensors)
                if zone.heating.outdoor_sensor:
                    devices.add(zone.heating.outdoor_sensor)
    devices.update(config.leaks.meters)
    return frozenset(devices)


class Inputs:
    """Readings, input levels and settings rows as the rules' :class:`rules.types.State`."""

    def __init__(
        self,
        *,
        config: GatewayConfig,
        core: Core,
        store: SettingsStore,
        raise_event: RaiseEvent,
        lang: str = "fr",
    ) -> None:
        self.config = config
        self.store = store
        self._state = core.state
        self._metrics = core.metrics
        self._raise = raise_event
        self.lang = lang
        self.relevant = relevant_devices(config)
        #: water meters (Modbus devices counting m³): their flow for the overview
        self.water = frozenset(
            d.id for bus in config.buses.values() for d in getattr(bus, "devices", ()) if d.quantity == "water_m3"
        )
        self.flows = CounterRate()
        self.levels: dict[str, InputState] = {}
        self._site: Site | None = None
        self._site_version = -1
        self._bad_rows: set[str] = set()  # settings rows skipped (logged and raised once each)
        #: readings measured before a clock step: (device, field) -> (stamp as stored, stamp shifted)
        self._moved: dict[tuple[str, str], tuple[int, int]] = {}
        #: the latest value of each field of the devices the rules use, by arrival
        self._latest: dict[tuple[str, str], SensorValue] = {}

    # ---- what arrives -------------------------------------------------------------------------
    def start(self, bank: GpioBank, now_ns: int) -> None:
        """The inputs' levels at start. Nobody knows when an input last changed: an active one (window
        open, someone there) counts from now, an inactive one from long ago (no presence hold after a reboot)."""
        for name in bank.input_specs:
            active = bank.input_active(name)
            self.levels[name] = InputState(active, now_ns if active else 0)

    def reading(self, reading: Reading) -> bool:
        """Keep a reading the rules use (by arrival); whether it is one."""
        if reading.measurement in {"relay", "event", "input"}:
            return False
        device = reading.tag("device") or ""
        if device not in self.relevant:
            return False
        for name, value in reading.fields:
            if _number(value):
                self._latest[(device, name)] = SensorValue(float(value), reading.time_ns)
        return True

    def counter(self, reading: Reading) -> None:
        """Water counters, for their flow on the overview."""
        device = reading.tag("device") or ""
        if device in self.water:
            value = dict(reading.fields).get("water_m3")
            if _number(value):
                self.flows.add(device, float(value), reading.time_ns)  # type: ignore[arg-type]

    def edge(self, edge: Edge, now_ns: int) -> None:
        """An input changed level."""
        self.levels[edge.input] = InputState(edge.active, now_ns)

    def window_open(self, contacts: list[str]) -> bool:
        """Whether any of ``contacts`` is active now."""
        return any(self.levels.get(c, InputState(False, 0)).active for c in contacts)

    def shift(self, step_ns: int, now_ns: int) -> None:
        """The wall clock stepped: input changes and readings measured before it move by as much."""
        self.levels = {
            name: InputState(i.active, closer(i.since_ns, step_ns, now_ns)) if i.since_ns else i
            for name, i in self.levels.items()
        }
        for key, sample in self._state.snapshot().samples.items():
            moved = closer(sample.time_ns, step_ns, now_ns)
            if moved != sample.time_ns:
                self._moved[key] = (sample.time_ns, moved)
        self._latest = {
            key: SensorValue(v.value, closer(v.time_ns, step_ns, now_ns)) for key, v in self._latest.items()
        }

    # ---- what the rules see -------------------------------------------------------------------
    def site(self) -> Site:
        """The site with the settings store's edits (rebuilt when the store changed)."""
        if self._site is None or self._site_version != self.store.version:
            self._site = effective_site(self.config, self.store)
            self._site_version = self.store.version
        return self._site

    @property
    def last_site(self) -> Site | None:
        """The site of the last evaluation (``None`` before the first)."""
        return self._site

    def state_at(self, now: datetime, *, relays: Any, memory: Memory) -> State:
        """The rules' input at ``now``: state store, pins, overrides, memory."""
        readings = self._readings()
        overrides = self.store.active_overrides(now)
        site = self.site()
        bookings: list[Booking] = []
        lights: list[LightOverride] = []
        for o in overrides:
            try:
                if o.kind == "zone":
                    booking = _booking(site, o)
                    if booking is not None:
                        bookings.append(booking)
                elif o.kind == "lighting" and o.on is not None:
                    lights.append(LightOverride(o.subject, _ns(o.start), _ns(o.end), bool(o.on), o.label))
            except Exception as exc:  # a row the rules cannot use (edited by hand, a bug): skipped
                self._skip_row(o, exc)
        return State(
            readings=MappingProxyType(readings),
            inputs=MappingProxyType(dict(self.levels)),
            relays=MappingProxyType(relays),
            bookings=tuple(bookings),
            light_overrides=tuple(lights),
            leak_acks=MappingProxyType(self.store.leak_acks()),
            memory=memory,
        )

    def _readings(self) -> dict[tuple[str, str], SensorValue]:
        readings: dict[tuple[str, str], SensorValue] = {}
        for key, sample in self._state.snapshot().samples.items():
            value = sample.value
            time_ns = sample.time_ns
            moved = self._moved.get(key)
            if moved is not None:
                if moved[0] == time_ns:
                    time_ns = moved[1]  # measured before a clock step
                else:
                    del self._moved[key]  # a newer reading replaced it
            if _number(value):
                readings[key] = SensorValue(float(value), time_ns)
        readings.update(self._latest)
        return readings

    def _skip_row(self, override: Any, exc: Exception) -> None:
        """A settings row the rules cannot use: skipped, counted; logged and raised once per row."""
        self._metrics.inc("gateway_settings_rows_skipped_total")
        key = f"override {getattr(override, 'id', '?')}"
        if key in self._bad_rows:
            return
        self._bad_rows.add(key)
        log.error("%s (%s) skipped: %s", key, getattr(override, "subject", "?"), exc)
        self._raise(
            "settings_row_invalid",
            "warning",
            say("settings_row_invalid", self.lang, id=getattr(override, "id", "?"), error=exc),
            str(getattr(override, "subject", "") or "settings"),
        )


def _booking(site: Site, override: Override) -> Booking | None:
    """A zone override as the rules' booking: its mode, or its setpoint (and the mode that fits it).

    Raises ``ValueError`` (or anything else a hand-edited row provokes) for a row the rules cannot use."""
    setpoint = getattr(override, "setpoint_c", None)
    mode = override.mode
    if mode is None and setpoint is not None:
        zone = site.zone(override.subject)
        if zone is None:
            return None
        mode = zone.heating.setpoints.mode_for(setpoint)
    if mode is None:
        return None
    if mode not in MODES:  # Booking does not check it, and the engine would fail on it
        raise ValueError(f"unknown mode {mode!r} (one of {', '.join(MODES)})")
    return Booking(override.subject, _ns(override.start), _ns(override.end), mode, override.label, setpoint)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _ns(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000) * 1000
