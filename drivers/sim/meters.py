"""Simulated meters: a real pymodbus server (TCP or RTU) holding plausible, evolving values.

Rules of this module:
- it is a real Modbus server: the driver under test or in the demo runs its real code path;
- values are written in each meter's own profile encoding (kW, Wh, 0.01 kWh, markers...) at the
  moment a request arrives, so energy counters only ever increase and power follows a daily
  occupancy curve (weekday office hours, evenings for a hall, Sunday morning for a church);
- tests may pin values (:meth:`SimulatedMeters.set_values`), silence a meter, delay its next reply
  or make register gaps illegal, and read the requests the server received; ``trace_packet``
  (pymodbus's hook) lets a test garble or cut the frames the server sends;
- it binds 127.0.0.1 unless told otherwise.

Example::

    async with SimulatedMeters.from_config(config.buses["compteurs"]) as sim:
        ...  # meters answer on config.buses["compteurs"].host:port

or, without a configuration::

    async with SimulatedMeters([SimMeter(1, load_profile("sdm630"))], port=15502) as sim: ...
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from drivers.modbus_profile import Profile, encode_field

_SIM_EPOCH = 1_700_000_000.0
_VILLAGE_TZ = ZoneInfo("Europe/Paris")


def occupancy(hour: float, weekday: int, *, kind: str = "office") -> float:
    """0..1: how busy a building is at ``hour`` (local, 0-24) on ``weekday`` (0 = Monday)."""

    def bump(start: float, end: float) -> float:  # smooth ramp over half an hour at each end
        return max(0.0, min(1.0, (hour - start) * 2, (end - hour) * 2))

    if kind == "church":
        return bump(9.5, 12.0) if weekday == 6 else 0.0
    if kind == "hall":
        return bump(18.0, 23.5) if weekday >= 4 else 0.2 * bump(14.0, 17.0)
    if weekday >= 5:
        return 0.0
    return bump(8.0, 12.0) + bump(13.5, 18.0)


@dataclass
class MeterModel:
    """A building's electricity (or water) use over time, integrated into counters."""

    peak_w: float = 6000.0
    base_w: float = 300.0
    kind: str = "office"
    seed: int = 0
    energy_kwh: float = 0.0
    water_m3: float = 0.0
    _last: float | None = None
    _rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self._rng.seed(self.seed)
        self.energy_kwh = 1000.0 + 97.0 * self.seed
        self.water_m3 = 100.0 + 3.0 * self.seed

    def power_w(self, now: float) -> float:
        local = datetime.fromtimestamp(now, _VILLAGE_TZ)  # occupancy follows the village's local hours
        hour = local.hour + local.minute / 60
        busy = occupancy(hour, local.weekday(), kind=self.kind)
        return self.base_w + (self.peak_w - self.base_w) * busy * (0.9 + 0.1 * self._rng.random())

    def values(self, now: float) -> dict[str, float | None]:
        """Every canonical quantity at ``now`` (seconds since the epoch)."""
        power = self.power_w(now)
        if self._last is not None and now > self._last:
            dt_h = (now - self._last) / 3600
            self.energy_kwh += power * dt_h / 1000
            self.water_m3 += (0.4 * power / self.peak_w) * dt_h  # up to ~0.4 m³/h while busy
        self._last = now
        voltage = 230.0 + 2.0 * math.sin(now / 600 + self.seed)
        pf = 0.93 + 0.04 * math.sin(now / 900)
        current = power / (3 * voltage * pf)
        values: dict[str, float | None] = {
            "voltage_v": voltage,
            "current_a": current * 3,
            "power_w": power,
            "frequency_hz": 50.0 + 0.02 * math.sin(now / 60),
            "power_factor": pf,
            "energy_import_kwh": self.energy_kwh,
            "energy_export_kwh": 0.0,
            "water_m3": self.water_m3,
        }
        for phase, share in (("l1", 0.40), ("l2", 0.35), ("l3", 0.25)):
            values[f"voltage_{phase}_v"] = voltage + {"l1": 0.0, "l2": 0.8, "l3": -0.6}[phase]
            values[f"current_{phase}_a"] = current * 3 * share
            values[f"power_{phase}_w"] = power * share
        return values


@dataclass
class SimMeter:
    """One simulated meter: its unit id, its (bound) profile, and where its values come from."""

    unit: int
    profile: Profile
    model: MeterModel = field(default_factory=MeterModel)
    pinned: dict[str, float | None] | None = None  # fixed values (tests); None = follow the model


@dataclass
class _Behaviour:
    silent: bool = False
    delay_next_s: float = 0.0


class SimulatedMeters:
    """A pymodbus server holding several simulated meters (one TCP server or one RTU line)."""

    def __init__(
        self,
        meters: Iterable[SimMeter],
        *,
        host: str = "127.0.0.1",
        port: int = 15502,
        serial_port: str | None = None,
        baudrate: int = 9600,
        parity: str = "N",
        strict_gaps: bool = False,
        clock: Any = time.time,
        trace_packet: Any = None,
    ) -> None:
        self.meters = {m.unit: m for m in meters}
        self.host = host
        self.port = port
        self.serial_port = serial_port
        self.baudrate = baudrate
        self.parity = parity
        self.strict_gaps = strict_gaps
        self.clock = clock
        self.trace_packet = trace_packet
        self.requests: list[tuple[int, int, int, int]] = []  # (unit, function code, start, count)
        self._behaviour = {unit: _Behaviour() for unit in self.meters}
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_config(
        cls, bus: Any, *, host: str | None = None, port: int | None = None, **kwargs: Any
    ) -> SimulatedMeters:
        """Meters for every device of a ``[buses.<id>]`` section (TCP: its host/port; RTU: its port)."""
        kinds = ("office", "office", "hall", "church", "office")
        meters = []
        for i, dev in enumerate(bus.devices):
            profile = dev.meter_profile  # found and compiled with the configuration
            peak = 3000.0 + 1500.0 * (dev.unit % 5)
            base = 180.0 + 70.0 * (dev.unit % 7)  # standby loads differ from building to building
            model = MeterModel(peak_w=peak, base_w=base, kind=kinds[i % len(kinds)], seed=dev.unit)
            meters.append(SimMeter(dev.unit, profile, model))
        if getattr(bus, "kind", "tcp") == "rtu":
            kwargs.setdefault("serial_port", bus.port)
            kwargs.setdefault("baudrate", bus.baudrate)
            kwargs.setdefault("parity", bus.parity)
            return cls(meters, **kwargs)
        return cls(meters, host=host or bus.host, port=port or bus.port, **kwargs)

    # ---- test controls ---------------------------------------------------------------------------
    def set_values(self, unit: int, values: Mapping[str, float | None]) -> None:
        """Pin ``unit``'s values (names as in its profile; ``None`` = "not available")."""
        self.meters[unit].pinned = dict(values)

    def silence(self, unit: int, silent: bool = True) -> None:
        """Make ``unit`` stop answering (no reply at all), or answer again."""
        self._behaviour[unit].silent = silent

    def delay_next(self, unit: int, seconds: float) -> None:
        """Delay ``unit``'s next reply by ``seconds`` (then reply anyway: a late reply)."""
        self._behaviour[unit].delay_next_s = seconds

    def request_count(self, unit: int | None = None) -> int:
        """Requests received (for ``unit``, or all)."""
        return sum(1 for r in self.requests if unit is None or r[0] == unit)

    # ---- the server ------------------------------------------------------------------------------
    def _tables(self, meter: SimMeter) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
        from pymodbus.simulator import DataType, SimData

        bits = [SimData(0, count=16, values=False, datatype=DataType.BITS)]
        tables: dict[int, list[Any]] = {3: [], 4: []}
        for fc in (3, 4):
            fields = sorted(
                (f for f in meter.profile.fields if f.function_code == fc), key=lambda f: f.address
            )
            if not fields:
                tables[fc] = [SimData(0, values=0, datatype=DataType.REGISTERS)]
            elif self.strict_gaps:
                tables[fc] = _spans(((f.address, f.end) for f in fields), SimData, DataType)
            else:
                tables[fc] = _spans([(fields[0].address, max(f.end for f in fields))], SimData, DataType)
        return (bits, list(bits), tables[3], tables[4])

    async def _action(  # noqa: PLR0917 - the signature pymodbus calls
        self,
        unit: int,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: Sequence[int] | Sequence[bool] | None,
    ) -> Any:
        from pymodbus.exceptions import NoSuchIdException

        self.requests.append((unit, function_code, address, count))
        behaviour = self._behaviour[unit]
        if behaviour.silent:
            raise NoSuchIdException(f"simulated meter {unit} is silent")  # the server sends nothing
        meter = self.meters[unit]
        values = meter.pinned if meter.pinned is not None else meter.model.values(self.clock())
        for f in meter.profile.fields:
            if (
                f.function_code == function_code
                and f.name in values
                and 0 <= f.address - start_address < len(registers)
            ):
                offset = f.address - start_address
                registers[offset : offset + f.width] = encode_field(f, values[f.name])
        if behaviour.delay_next_s:
            delay, behaviour.delay_next_s = behaviour.delay_next_s, 0.0
            await asyncio.sleep(delay)
        return None

    def _devices(self) -> list[Any]:
        from pymodbus.simulator import DataType, SimData, SimDevice

        devices = [
            SimDevice(unit, simdata=self._tables(m), action=functools.partial(self._action, unit))
            for unit, m in sorted(self.meters.items())
        ]
        # id 0 catches every other unit: like a real RS-485 line, an absent meter never answers
        catch_all = SimData(0, count=200, values=0, datatype=DataType.REGISTERS)
        devices.append(SimDevice(0, simdata=[catch_all], action=_absent))
        return devices

    async def start(self) -> None:
        """Start serving (returns once the server listens)."""
        from pymodbus.server import ModbusSerialServer, ModbusTcpServer

        if self.serial_port:
            from pymodbus.framer import FramerType

            self._server = ModbusSerialServer(
                self._devices(),
                framer=FramerType.RTU,
                port=self.serial_port,
                baudrate=self.baudrate,
                parity=self.parity,
                ignore_missing_devices=True,
                trace_packet=self.trace_packet,
            )
        else:
            self._server = ModbusTcpServer(
                self._devices(),
                address=(self.host, self.port),
                ignore_missing_devices=True,
                trace_packet=self.trace_packet,
            )
        self._task = asyncio.create_task(self._server.serve_forever(), name="sim-meters")
        for _ in range(200):
            if self._server.is_active() or self._task.done():
                break
            await asyncio.sleep(0.01)
        if self._task.done():
            self._task.result()  # raises the server's error (port in use...)

    async def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.shutdown()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._server = self._task = None

    async def __aenter__(self) -> SimulatedMeters:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def _absent(*_args: Any) -> Any:
    from pymodbus.exceptions import NoSuchIdException

    raise NoSuchIdException("no such simulated meter")


def _spans(ranges: Iterable[tuple[int, int]], sim_data: Any, data_type: Any) -> list[Any]:
    merged: list[list[int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [sim_data(s, count=e - s, values=0, datatype=data_type.REGISTERS) for s, e in merged]


async def serve_simulated_meters(bus: Any, *, host: str | None = None, port: int | None = None) -> None:
    """Serve ``bus``'s meters until cancelled (for ``village-gateway demo`` and the benchmark)."""
    async with SimulatedMeters.from_config(bus, host=host, port=port):
        await asyncio.Event().wait()
