"""One task owns one bus: it polls every meter on the line, one request at a time.

Rules of this module:
- :class:`BusPoller` is the only user of its :class:`ModbusLink`; requests are serialised;
- each device has its own poll interval; the next poll is due one interval after the previous one
  was due (no drift), or now if the bus fell behind;
- a device that fails is backed off: next try after ``min(interval * 2**failures, max_backoff_s)``;
  its neighbours keep their schedule (they only ever wait for one request in flight);
- one log line when a device stops answering, one when it comes back ("... recovered"); never a
  traceback per poll. Failures are counted through the :class:`Reporter` and reported as
  :class:`~gateway.model.Unavailable`;
- register blocks are planned once per device; if a device refuses a coalesced block with
  "illegal address" (code 2), it falls back, once and for good, to blocks without gaps.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from drivers.modbus_link import ModbusLink, ReadError, RtuLink, TcpLink
from drivers.modbus_plan import Block, plan_blocks
from drivers.modbus_profile import Profile
from gateway.model import Reading, Unavailable

log = logging.getLogger("drivers.modbus")
ILLEGAL_ADDRESS = 2


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """One meter on a bus, with the tags of its readings."""

    id: str
    unit: int
    profile: Profile
    interval_s: float
    tags: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class BusSpec:
    """A bus and its meters."""

    name: str
    link: TcpLink | RtuLink
    devices: tuple[DeviceSpec, ...]
    timeout_s: float = 1.0
    max_backoff_s: float = 300.0


class Reporter(Protocol):
    """Where a bus sends what it learns (the core, in the daemon)."""

    def reading(self, reading: Reading) -> None: ...

    def unavailable(self, status: Unavailable) -> None: ...

    def count(self, name: str, **labels: str) -> None: ...


@dataclass
class _Device:
    spec: DeviceSpec
    plan: tuple[Block, ...]
    tight_plan: tuple[Block, ...]
    next_due: float = 0.0
    failures: int = 0
    down_since_ns: int | None = None
    polls: int = 0
    errors: list[str] = field(default_factory=list)


class BusPoller:
    """Polls the devices of one bus forever; ``await poller.run()`` in its own task.

    Example::

        poller = BusPoller(spec, reporter)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(poller.run(), name=f"modbus:{spec.name}")
    """

    def __init__(
        self,
        spec: BusSpec,
        reporter: Reporter,
        *,
        wall_ns: Callable[[], int] | None = None,
    ) -> None:
        import time

        self.spec = spec
        self.reporter = reporter
        self.link = ModbusLink(spec.link, timeout_s=spec.timeout_s)
        self._wall_ns = wall_ns or time.time_ns
        kind = spec.link.kind
        self.devices = [
            _Device(
                d,
                plan_blocks(d.profile.fields, bus_kind=kind),
                plan_blocks(d.profile.fields, bus_kind=kind, read_gaps=False),
            )
            for d in spec.devices
        ]

    async def run(self) -> None:
        """Poll until cancelled."""
        # pymodbus logs every timeout itself; we report each state change once instead.
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
        if not self.devices:
            await asyncio.Event().wait()
        loop = asyncio.get_running_loop()
        now = loop.time()
        for device in self.devices:
            # all due now: polled back to back in configuration order (min() keeps list order on ties),
            # so meters sharing an interval stay in one burst and the task wakes once per round
            device.next_due = now
        log.info(
            "bus %s (%s %s): %d meters: %s",
            self.spec.name,
            self.spec.link.kind,
            self.spec.link,
            len(self.devices),
            ", ".join(f"{d.spec.id}@{d.spec.unit}/{d.spec.profile.name}" for d in self.devices),
        )
        try:
            while True:
                device = min(self.devices, key=lambda d: d.next_due)
                if (delay := device.next_due - loop.time()) > 0:
                    await asyncio.sleep(delay)
                await self.poll(device)
        finally:
            self.link.close()

    async def poll(self, device: _Device) -> None:
        """Read one device once and report the outcome; never raises (except cancellation)."""
        loop = asyncio.get_running_loop()
        spec = device.spec
        time_ns = self._wall_ns()
        values: dict[str, float | None] = {}
        try:
            for block in device.plan:
                registers = await self.link.read(
                    unit=spec.unit, function_code=block.function_code, start=block.start, count=block.count
                )
                for name, value, reason in block.decode(registers):
                    values[name] = value
                    if reason:
                        self.reporter.count(f"gateway_modbus_{reason}_total", device=spec.id)
        except ReadError as exc:
            if exc.kind == "exception" and exc.code == ILLEGAL_ADDRESS and device.plan != device.tight_plan:
                log.warning("%s refuses reads across register gaps; reading its fields without gaps", spec.id)
                device.plan = device.tight_plan
                device.next_due = loop.time()
                return
            self._failed(device, exc, loop.time())
            return
        except Exception as exc:  # a bug or a library surprise: this device fails, the bus goes on
            if device.down_since_ns is None:
                log.exception("%s: unexpected error while polling", spec.id)
            self.link.close()
            self._failed(device, ReadError("protocol", f"unexpected {type(exc).__name__}: {exc}"), loop.time())
            return
        device.polls += 1
        self._succeeded(device, values, time_ns, loop.time())

    def _failed(self, device: _Device, exc: ReadError, now: float) -> None:
        spec = device.spec
        device.failures += 1
        self.reporter.count("gateway_device_errors_total", device=spec.id)
        # per bus and kind, not per device: per-device failures are counted once, above
        self.reporter.count("gateway_modbus_errors_total", bus=self.spec.name, kind=exc.kind)
        backoff = min(spec.interval_s * 2**device.failures, self.spec.max_backoff_s)
        device.next_due = now + max(backoff, spec.interval_s)
        if device.down_since_ns is None:
            device.down_since_ns = self._wall_ns()
            log.warning(
                "%s (unit %d on bus %s) is not answering: %s; retrying with backoff up to %gs",
                spec.id,
                spec.unit,
                self.spec.name,
                exc,
                self.spec.max_backoff_s,
            )
            self.reporter.unavailable(Unavailable(spec.id, device.down_since_ns, f"{exc.kind}: {exc}"))

    def _succeeded(self, device: _Device, values: dict[str, float | None], time_ns: int, now: float) -> None:
        spec = device.spec
        if device.down_since_ns is not None:
            log.info("%s recovered after %d failed polls", spec.id, device.failures)
        device.failures = 0
        device.down_since_ns = None
        device.next_due = max(device.next_due + spec.interval_s, now)
        try:
            reading = Reading.make("meter", spec.tags, values, time_ns=time_ns)
        except ValueError as exc:  # every value missing, or a clock that is not set
            self.reporter.count("gateway_modbus_dropped_total", device=spec.id)
            log.debug("%s: reading dropped: %s", spec.id, exc)
            return
        try:
            self.reporter.reading(reading)
        except Exception:  # the core's trouble is not the meter's: say it, keep polling
            log.exception("%s: publishing a reading failed", spec.id)
