"""Building the façade's views and validating its inputs against the configuration.

Rules of this module: no I/O and no threads of its own; it reads the configuration, the last
published evaluation, a state snapshot and the settings store (which has its own lock), and
returns immutable views. Used by the façade (:mod:`gateway.control.facade`) and the settings overlay of the loop.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING, Any

from gateway.control.values import (
    CircuitDetail,
    CircuitStatus,
    Evaluation,
    MeterStatus,
    Overview,
    SchedulePeriod,
    UnknownSubjectError,
    ValidationError,
    ZoneDetail,
    ZoneStatus,
)
from gateway.schema.site import heated_zones
from rules.config import DAY_NAMES, MODES

if TYPE_CHECKING:
    from gateway.config import GatewayConfig
    from gateway.control.settings_store import SettingsStore

#: Lowest setpoint an override may ask for (frost protection of pipes is 5 °C and up).
SETPOINT_FLOOR_C = 5.0
MAX_PERIODS = 70


def _dt(time_ns: int | None) -> datetime | None:
    return None if time_ns is None else datetime.fromtimestamp(time_ns / 1e9, UTC)


class Views:
    """Validation and view building for one configuration."""

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.modes: tuple[str, ...] = tuple(MODES)

    # ---- subjects ----------------------------------------------------------------------------
    def check_zone(self, building: str, zone: str) -> None:
        """Raise :class:`UnknownSubjectError` unless ``building/zone`` is a heated zone."""
        b = self.config.buildings.get(building)
        z = b.zones.get(zone) if b is not None else None
        if z is None or z.heating is None:
            raise UnknownSubjectError(f"heated zone {building}/{zone}")

    def check_circuit(self, circuit: str) -> None:
        """Raise :class:`UnknownSubjectError` unless ``circuit`` is a lighting circuit."""
        if circuit not in self.config.lighting.circuits:
            raise UnknownSubjectError(f"lighting circuit {circuit}")

    def heating(self, building: str, zone: str) -> Any:
        """The zone's configured heating."""
        return self.config.buildings[building].zones[zone].heating

    def setpoint_bounds(self, building: str, zone: str) -> tuple[float, float]:
        """What an override setpoint may be: the zone's hors-gel setpoint .. its ``max_setpoint_c``
        (19 °C unless configured: R241-26 for occupied public buildings)."""
        low, high = self.heating(building, zone).setpoint_bounds()
        return max(SETPOINT_FLOOR_C, float(low)), float(high)

    def check_setpoint(self, building: str, zone: str, value: object, errors: dict[str, str]) -> float | None:
        """``value`` as a setpoint within the zone's bounds, or ``None`` with ``errors["setpoint_c"]`` set."""
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            errors["setpoint_c"] = "the setpoint must be a number (°C)"
            return None
        low, high = self.setpoint_bounds(building, zone)
        if not low <= value <= high:
            errors["setpoint_c"] = f"the setpoint must be between {low:g} and {high:g} °C"
            return None
        return round(float(value), 1)

    # ---- validation --------------------------------------------------------------------------
    def validate_periods(self, periods: Sequence[SchedulePeriod]) -> tuple[SchedulePeriod, ...]:
        """Check a week schedule: days 0-6, end after start (00:00 = midnight), known modes, no overlap."""
        errors: dict[str, str] = {}
        clean: list[SchedulePeriod] = []
        if len(periods) > MAX_PERIODS:
            raise ValidationError({"periods": f"at most {MAX_PERIODS} periods in a week"})
        for i, p in enumerate(periods):
            key = f"periods[{i}]"
            if not isinstance(p, SchedulePeriod):
                errors[key] = "not a schedule period"
                continue
            if not isinstance(p.day, int) or isinstance(p.day, bool) or not 0 <= p.day <= 6:
                errors[f"{key}.day"] = "the day must be 0 (Monday) to 6 (Sunday)"
            if not isinstance(p.start, time) or not isinstance(p.end, time):
                errors[f"{key}.start"] = "start and end must be times of day"
                continue
            if p.start.second or p.start.microsecond or p.end.second or p.end.microsecond:
                errors[f"{key}.start"] = "times are whole minutes"
            if p.end != time(0, 0) and p.end <= p.start:
                errors[f"{key}.end"] = "the end must be after the start"
            if p.mode not in self.modes:
                errors[f"{key}.mode"] = f"unknown mode {p.mode!r}; expected one of {', '.join(self.modes)}"
            clean.append(p)
        if not errors:
            spans = sorted((p.day, _minutes(p.start), _end_minutes(p.end), i) for i, p in enumerate(clean))
            for (d1, _s1, e1, _i1), (d2, s2, _e2, i2) in itertools.pairwise(spans):
                if d1 == d2 and s2 < e1:
                    errors[f"periods[{i2}].start"] = "this period overlaps another one on the same day"
        if errors:
            raise ValidationError(errors)
        return tuple(sorted(clean, key=lambda p: (p.day, p.start)))

    # ---- views -------------------------------------------------------------------------------
    def overview(self, latest: Evaluation | None, snapshot: Any) -> Overview:
        """The "Vue d'ensemble"."""
        site = self.config.site
        zones = latest.zones if latest else tuple(self.placeholder_zones())
        circuits = latest.circuits if latest else tuple(self.placeholder_circuits())
        return Overview(
            site_id=site.id,
            site_name=site.name,
            evaluated_at=latest.at if latest else None,
            zones=zones,
            circuits=circuits,
            meters=tuple(self.meters(snapshot, latest.meter_flows if latest else None)),
            alerts=latest.alerts if latest else (),
        )

    def placeholder_zones(self) -> list[ZoneStatus]:
        """Zones before the first evaluation (daemon starting)."""
        out = []
        for bid, zid, building, zone, _heating in heated_zones(self.config.buildings):
            out.append(
                ZoneStatus(
                    building=bid,
                    building_name=building.name,
                    zone=zid,
                    name=zone.name,
                    temperature_c=None,
                    temperature_time=None,
                    stale=True,
                    target_c=None,
                    mode=None,
                    heater_on=None,
                    window_open=False,
                    reason="not evaluated yet",
                )
            )
        return out

    def placeholder_circuits(self) -> list[CircuitStatus]:
        """Circuits before the first evaluation."""
        return [
            CircuitStatus(circuit=cid, name=c.name or cid, building=None, on=None, reason="not evaluated yet")
            for cid, c in self.config.lighting.circuits.items()
        ]

    def meters(self, snapshot: Any, flows: Mapping[str, float] | None = None) -> list[MeterStatus]:
        """Every configured Modbus meter with its latest values (power, energy, water) and, for water
        meters, the flow (m³/h) the control loop measured from the counter (``flows``)."""
        flows = flows or {}
        out: list[MeterStatus] = []
        for bus in self.config.buses.values():
            for device in getattr(bus, "devices", ()):
                power = snapshot.value(device.id, "power_w") if snapshot else None
                energy = snapshot.value(device.id, "energy_import_kwh") if snapshot else None
                if energy is None and snapshot:
                    energy = snapshot.value(device.id, "energy_kwh")
                water = snapshot.value(device.id, "water_m3") if snapshot else None
                latest = max((s.time_ns for s in (power, energy, water) if s is not None), default=None)
                out.append(
                    MeterStatus(
                        device=device.id,
                        building=getattr(device, "building", None),
                        zone=getattr(device, "zone", None),
                        power_w=_num(power),
                        energy_kwh=_num(energy),
                        time=_dt(latest),
                        available=not (snapshot and device.id in snapshot.unavailable),
                        water_m3=_num(water),
                        flow_m3_h=flows.get(device.id) if water is not None else None,
                    )
                )
        return out

    def zone_detail(
        self, building: str, zone: str, latest: Evaluation | None, store: SettingsStore, now: datetime
    ) -> ZoneDetail:
        """A zone's page."""
        key = f"{building}/{zone}"
        zones = latest.zones if latest else tuple(self.placeholder_zones())
        status = next(z for z in zones if z.building == building and z.zone == zone)
        edited = store.week(key)
        heating = self.heating(building, zone)
        week = edited if edited is not None else self.default_week(building, zone)
        low, high = self.setpoint_bounds(building, zone)
        return ZoneDetail(
            status=status,
            week=week,
            week_is_default=edited is None,
            exceptions=store.exceptions(key),
            overrides=tuple(o for o in store.active_overrides(now) if o.kind == "zone" and o.subject == key),
            modes=self.modes,
            mode_setpoints={m: v for m in self.modes if (v := heating.setpoints.of(m)) is not None},
            setpoint_min_c=low,
            setpoint_max_c=high,
        )

    def week(self, building: str, zone: str, store: SettingsStore) -> tuple[SchedulePeriod, ...]:
        """The zone's week as it applies: the edited one, else the configured one."""
        edited = store.week(f"{building}/{zone}")
        return edited if edited is not None else self.default_week(building, zone)

    def default_week(self, building: str, zone: str) -> tuple[SchedulePeriod, ...]:
        """The zone's week as configured."""
        return tuple(periods_from_slots(self.heating(building, zone).schedule))

    def circuit_detail(
        self, circuit: str, latest: Evaluation | None, store: SettingsStore, now: datetime
    ) -> CircuitDetail:
        """A lighting circuit's page."""
        circuits = latest.circuits if latest else tuple(self.placeholder_circuits())
        status = next(c for c in circuits if c.circuit == circuit)
        cut = self.config.lighting.cut_of(self.config.lighting.circuits[circuit])
        return CircuitDetail(
            status=status,
            overrides=tuple(o for o in store.active_overrides(now) if o.kind == "lighting" and o.subject == circuit),
            night_cut=None if cut is None else (_clock(cut.start), _clock(cut.end)),
        )


#: Water flow is the counter's increase over about this long (a 1 L pulse counter polled every minute
#: would otherwise read 0 or 0.06 m³/h by turns).
FLOW_WINDOW_NS = 15 * 60 * 1_000_000_000


class CounterRate:
    """The rate of cumulative counters (m³ -> m³/h) over a sliding window, per device.

    Fed with every counter sample (one thread: the control loop); :meth:`rates` gives a plain dict
    to publish. A decrease (counter reset or replaced meter) restarts the window; a counter that
    has not reported for two windows has no rate.

    >>> r = CounterRate(); r.add("eau", 10.0, 0); r.add("eau", 10.5, 1_800_000_000_000)
    >>> r.rates(1_800_000_000_000)
    {'eau': 1.0}
    """

    def __init__(self, window_ns: int = FLOW_WINDOW_NS) -> None:
        self.window_ns = window_ns
        self._samples: dict[str, deque[tuple[int, float]]] = {}

    def add(self, device: str, value: float, time_ns: int) -> None:
        """One counter sample (older or equal stamps than the last are ignored)."""
        samples = self._samples.setdefault(device, deque(maxlen=1024))
        if samples and time_ns <= samples[-1][0]:
            return
        if samples and value < samples[-1][1]:
            samples.clear()
        samples.append((time_ns, value))
        # keep one sample at or before the window's start, so the rate spans the whole window
        while len(samples) > 2 and samples[1][0] <= time_ns - self.window_ns:
            samples.popleft()

    def rates(self, now_ns: int) -> dict[str, float]:
        """Device -> increase per hour over the window, for counters heard from recently."""
        out: dict[str, float] = {}
        for device, samples in self._samples.items():
            if len(samples) < 2 or now_ns - samples[-1][0] > 2 * self.window_ns:
                continue
            (t0, v0), (t1, v1) = samples[0], samples[-1]
            out[device] = round((v1 - v0) / ((t1 - t0) / 3.6e12), 6)
        return out


def _num(sample: Any) -> float | None:
    if sample is None or isinstance(sample.value, (str, bool)):
        return None
    return float(sample.value)


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _end_minutes(t: time) -> int:
    return 1440 if t == time(0, 0) else _minutes(t)


def _clock(text: str) -> time:
    hours, minutes = (int(x) for x in text.split(":"))
    return time(0, 0) if hours == 24 else time(hours, minutes)


def periods_from_slots(slots: Sequence[Any]) -> list[SchedulePeriod]:
    """The rules' schedule slots (days, "HH:MM") as per-day periods; a slot past midnight is split."""
    out: list[SchedulePeriod] = []
    for slot in slots:
        start, end = _clock(slot.start), _clock(slot.end)
        crosses = slot.end != "24:00" and _minutes(end) <= _minutes(start)
        for day in slot.days:
            if crosses:
                out.append(SchedulePeriod(day, start, time(0, 0), slot.mode))
                if end != time(0, 0):
                    out.append(SchedulePeriod((day + 1) % 7, time(0, 0), end, slot.mode))
            else:
                out.append(SchedulePeriod(day, start, end, slot.mode))
    return sorted(out, key=lambda p: (p.day, p.start))


def slots_from_periods(periods: Sequence[SchedulePeriod]) -> list[dict[str, Any]]:
    """Per-day periods as the rules' slot dicts (``Slot.model_validate`` each)."""
    return [
        {
            "days": DAY_NAMES[p.day],
            "start": f"{p.start.hour:02d}:{p.start.minute:02d}",
            "end": "24:00" if p.end == time(0, 0) else f"{p.end.hour:02d}:{p.end.minute:02d}",
            "mode": p.mode,
        }
        for p in periods
    ]
