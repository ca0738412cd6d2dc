"""``[buses.<id>]``: Modbus lines (TCP gateways and RS-485 RTU lines) and their meters.

Every number is finite and within sane limits (an error names the file, line and field):
``interval_s`` 0.2..3600 s, ``timeout_s`` 0.05..30 s (on RS-485, at least the time the largest
reply takes on the line at its baud rate), ``max_backoff_s`` 1..3600 s, a pulse counter's
``scale`` 1e-6..1000 units per count.

A device's ``profile`` is found (a path, the ``profiles/`` folder beside the configuration, or
a shipped one: :mod:`gateway.meter_profiles`) and compiled while the configuration is validated:
the register map that was checked is the one that runs, and a changed profile file makes a
changed configuration (a reload applies it). An error inside a profile file is reported at its
own file and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, PrivateAttr, ValidationInfo, model_validator

from drivers.modbus_plan import plan_blocks
from drivers.modbus_profile import ProfileError
from gateway.errors import ConfigProblem
from gateway.meter_profiles import load_meter_profile, problem_of
from gateway.schema.base import Ident, Section, place_problems

if TYPE_CHECKING:
    from drivers.modbus_profile import Profile, ProfileError


class ModbusDeviceConfig(Section):
    """One meter on a bus."""

    id: Ident
    unit: Annotated[int, Field(ge=1, le=247, description="Modbus device id (slave address)")]
    profile: str = Field(
        min_length=1,
        description="register map: a shipped name ('sdm630'), a name in profiles/ beside the configuration, or a path",
    )
    building: Ident
    zone: Ident | None = None
    interval_s: Annotated[float, Field(ge=0.2, le=3600, allow_inf_nan=False)] = 10.0
    scale: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = Field(
        default=None, description="pulse-counter only: units of the quantity per count"
    )
    quantity: str | None = Field(default=None, description="pulse-counter only: e.g. 'water_m3'")
    enabled: bool = True
    #: the compiled register map (compared with the rest: an edited profile file is a changed configuration)
    _register_map: Any = PrivateAttr(default=None)
    _profile_error: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _find_profile(self, info: ValidationInfo) -> ModbusDeviceConfig:
        """Find and compile the profile now; an error is kept for :func:`cross_check` to report."""
        context = info.context if isinstance(info.context, dict) else {}
        base = context.get("base_dir")
        base_dir = Path(base) if base is not None else None
        loaded: dict[tuple[str, Path | None], Any] = context.setdefault("meter_profiles", {})  # one read per file
        key = (self.profile, base_dir)
        if key not in loaded:
            try:
                loaded[key] = load_meter_profile(self.profile, base_dir=base_dir)
            except ProfileError as exc:
                loaded[key] = exc
        outcome = loaded[key]
        if isinstance(outcome, ProfileError):
            self._profile_error = outcome
        else:
            self._register_map = outcome
        return self

    @property
    def profile_error(self) -> ProfileError | None:
        """Why the profile could not be loaded (:func:`cross_check` reports it), or ``None``."""
        error: ProfileError | None = self._profile_error
        return error

    @property
    def register_map(self) -> Profile:
        """The register map, as loaded with the configuration (a configurable one not yet bound)."""
        if self._profile_error is not None:
            raise self._profile_error
        if self._register_map is None:  # built without validation (model_construct): a shipped name

            self._register_map = load_meter_profile(self.profile, base_dir=None)
        profile: Profile = self._register_map
        return profile

    @property
    def meter_profile(self) -> Profile:
        """The register map bound to the device's ``quantity`` and ``scale``: what its bus polls."""
        return self.register_map.bind(quantity=self.quantity, scale=self.scale)


class _Bus(Section):
    timeout_s: Annotated[float, Field(ge=0.05, le=30, allow_inf_nan=False)] = 1.0
    devices: list[ModbusDeviceConfig] = Field(default_factory=list)
    max_backoff_s: Annotated[float, Field(ge=1, le=3600, allow_inf_nan=False)] = 300.0


class TcpBusConfig(_Bus):
    """A Modbus TCP meter or a TCP-to-RS485 gateway."""

    kind: Literal["tcp"]
    host: str = Field(min_length=1)
    port: Annotated[int, Field(ge=1, le=65535)] = 502


class RtuBusConfig(_Bus):
    """An RS-485 line driven through a serial port."""

    kind: Literal["rtu"]
    port: str = Field(min_length=1, description="serial device, e.g. /dev/ttyUSB0")
    baudrate: Literal[1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] = 9600
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8


BusConfig = Annotated[TcpBusConfig | RtuBusConfig, Field(discriminator="kind")]


def cross_check(config: object) -> list[tuple[str, str] | ConfigProblem]:
    """Devices must name known buildings/zones and profiles; ids unique across buses.

    A profile that cannot be found is reported at the device's ``profile``; one with a mistake
    inside, at its own file and line (once, however many devices use it). A configurable
    profile (``pulse-counter``) needs ``quantity`` and ``scale`` (within the profile's sane
    range); other profiles refuse them. Two buses may not drive the same line (serial port, or
    TCP host and port): one task owns one bus. On RS-485, ``timeout_s`` must leave time for the
    largest request and reply of its meters at the line's baud rate.
    """
    problems: list[tuple[str, str] | ConfigProblem] = []
    buildings = config.buildings  # type: ignore[attr-defined]
    seen: dict[str, str] = {}
    lines: dict[str, str] = {}
    for bus_id, bus in config.buses.items():  # type: ignore[attr-defined]
        line = f"{bus.host}:{bus.port}" if isinstance(bus, TcpBusConfig) else bus.port
        if line in lines:
            reason = f"{line} is already driven by bus {lines[line]!r}: put these meters on one bus"
            problems.append((f"buses.{bus_id}.port", reason))
        lines.setdefault(line, bus_id)
        units: set[int] = set()
        largest = 0  # registers in the largest request on this bus
        for i, dev in enumerate(bus.devices):
            path = f"buses.{bus_id}.devices[{i}]"
            problems += place_problems(path, dev.building, dev.zone, buildings)
            error = dev.profile_error
            if error is not None:
                in_file = problem_of(error)
                if in_file is None:
                    problems.append((f"{path}.profile", str(error)))
                elif in_file not in problems:
                    problems.append(in_file)
            else:
                problem, registers = _profile_problem(dev, bus.kind)
                problems.extend([(f"{path}.{problem[0]}", problem[1])] if problem else [])
                largest = max(largest, registers)
            if dev.unit in units:
                problems.append((f"{path}.unit", f"unit {dev.unit} is used twice on bus {bus_id!r}"))
            units.add(dev.unit)
            if dev.id in seen:
                problems.append((f"{path}.id", f"device id {dev.id!r} already used at {seen[dev.id]}"))
            seen.setdefault(dev.id, path)
        if isinstance(bus, RtuBusConfig) and largest:
            problems.extend(_rtu_timeout_problems(bus_id, bus, largest))
    return problems


def _profile_problem(dev: ModbusDeviceConfig, bus_kind: str) -> tuple[tuple[str, str] | None, int]:
    """``((field, reason) or None, registers in the device's largest request)``."""
    try:
        profile = dev.meter_profile
    except ProfileError as exc:
        if not dev.register_map.configurable:
            key = "quantity" if dev.quantity is not None else "scale"
        else:
            key = "scale" if "'scale'" in str(exc) else "quantity"
        return (key, str(exc)), 0
    blocks = plan_blocks(profile.fields, bus_kind="rtu" if bus_kind == "rtu" else "tcp")
    return None, max(b.count for b in blocks)


def _rtu_timeout_problems(bus_id: str, bus: RtuBusConfig, largest: int) -> list[tuple[str, str]]:
    needed = rtu_exchange_s(largest, bus.baudrate)
    if bus.timeout_s >= needed:
        return []
    reason = (
        f"{bus.timeout_s:g} s is shorter than one exchange of {largest} registers at "
        f"{bus.baudrate} baud ({needed:.2f} s on the line): every such read would time out"
    )
    return [(f"buses.{bus_id}.timeout_s", reason)]


def rtu_exchange_s(registers: int, baudrate: int) -> float:
    """Time on the line of one read of ``registers`` registers and its reply, with the silences.

    8-byte request + (5 + 2 * registers)-byte reply, 11 bits a character (start, 8 data,
    parity or second stop, stop), plus two 3.5-character silences.
    """
    characters = 8 + 5 + 2 * registers + 7
    return characters * 11 / baudrate
