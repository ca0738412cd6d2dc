"""One task owns one bus: it polls every meter on the line, one request at a time.

Rules of this module:
- :class:`BusPoller` is the only user of its :class:`ModbusLink`; requests are serialised;
- **when** (:mod:`drivers.modbus_schedule`): each device has its own interval and polls on its
  grid; slots missed while the bus was busy are skipped, and a slot less than half an interval
  after the device's last reading is skipped too (counted): a late round never bursts;
- **a failing device cannot eat its neighbours' slots** (:mod:`drivers.modbus_health`): from its
  first failure until it answers 10 polls in a row (more if it flapped) it is *suspect*: polled after the healthy
  devices of its round, within its share of the time left before the next healthy device's slot,
  and backed off (``2**k`` intervals, ``k`` = failures in a row, capped at ``max_backoff_s``;
  2 intervals even after a success while it flaps);
- **say it once**: one log line when a device stops answering ("... is not answering: <why>"),
  one when it is back after the hold-off ("... recovered"); a failure between the two (a flap)
  is counted in ``gateway_modbus_flaps_total``, never logged; never a traceback per poll;
  the core gets :class:`~gateway.model.Unavailable` whenever a poll fails after an answer;
- **plausible values only** (:mod:`drivers.modbus_plausible`): a value outside its profile's
  bounds is dropped from the reading and counted per device, field and reason; a poll whose
  values are all missing or implausible is a failed poll like a timeout (``no_values``);
- register blocks are planned once per device; if a device refuses a coalesced block with
  "illegal address" (code 2), it falls back, once and for good, to blocks without gaps.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from drivers.modbus_health import Health
from drivers.modbus_link import RTU_QUIET_S, ModbusLink, ReadError, RtuLink, TcpLink
from drivers.modbus_plan import Block, plan_blocks
from drivers.modbus_plausible import Checked, Plausibility
from drivers.modbus_profile import Profile
from drivers.modbus_schedule import GUARD_S, Slot, budget_deadline, next_slot, pick, too_soon
from gateway.model import Reading, Unavailable

log = logging.getLogger("drivers.modbus")
ILLEGAL_ADDRESS = 2
#: An implausible value is logged at most this often per device, field and reason (always counted).
IMPLAUSIBLE_LOG_EVERY_S = 3600.0


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
    index: int
    plan: tuple[Block, ...]
    tight_plan: tuple[Block, ...]
    plausibility: Plausibility
    next_due: float = 0.0
    health: Health = field(default_factory=Health)
    down_since_ns: int | None = None
    last_reading_at: float | None = None  # event-loop time the last successful poll started
    polls: int = 0
    logged_implausible: dict[tuple[str, str], float] = field(default_factory=dict)

    def slot(self) -> Slot:
        return Slot(self.index, self.next_due, self.spec.interval_s, self.health.suspect)


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
        self._guard_s = GUARD_S + (RTU_QUIET_S if spec.link.kind == "rtu" else 0.0)
        kind = spec.link.kind
        self.devices = [
            _Device(
                d,
                i,
                plan_blocks(d.profile.fields, bus_kind=kind),
                plan_blocks(d.profile.fields, bus_kind=kind, read_gaps=False),
                Plausibility(d.profile),
            )
            for i, d in enumerate(spec.devices)
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
            # all due now: polled back to back in configuration order, so meters sharing an
            # interval stay in one round and the task wakes once per round
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
                await self.step()
        finally:
            self.link.close()

    async def step(self) -> None:
        """Poll the device whose turn it is (or skip its slot), waiting for it if none is due."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        slots = [d.slot() for d in self.devices]
        chosen = pick(slots, now)
        if chosen is None:
            await asyncio.sleep(min(s.due for s in slots) - now)
            return
        device = self.devices[chosen.index]
        if too_soon(last_reading_at=device.last_reading_at, interval=device.spec.interval_s, now=now):
            self.reporter.count("gateway_modbus_skipped_polls_total", device=device.spec.id)
            device.next_due = self._next_slot(device, wait_intervals=1, now=now)
            return
        deadline = budget_deadline(chosen, slots, now, timeout_s=self.spec.timeout_s, guard_s=self._guard_s)
        await self.poll(device, deadline=deadline)

    def _next_slot(self, device: _Device, *, wait_intervals: int, now: float) -> float:
        return next_slot(
            due=device.next_due,
            interval=device.spec.interval_s,
            wait_intervals=wait_intervals,
            max_backoff_s=self.spec.max_backoff_s,
            now=now,
        )

    async def poll(self, device: _Device, *, deadline: float | None = None) -> None:
        """Read one device once and report the outcome; never raises (except cancellation)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        time_ns = self._wall_ns()
        try:
            values = await self._read(device, deadline)
            checked = device.plausibility.check(values, now=started)
            self._report_implausible(device, checked, started)
            if all(v is None for v in checked.values.values()):
                raise ReadError("no_values", _why_no_values(checked))
        except ReadError as exc:
            self._failed(device, exc)
        except Exception as exc:  # a bug or a library surprise: this device fails, the bus goes on
            if device.down_since_ns is None:
                log.exception("%s: unexpected error while polling", device.spec.id)
            self.link.close()
            self._failed(device, ReadError("protocol", f"unexpected {type(exc).__name__}: {exc}"))
        else:
            device.polls += 1
            device.last_reading_at = started
            self._succeeded(device, checked.values, time_ns)
        device.next_due = self._next_slot(device, wait_intervals=device.health.wait_intervals(), now=loop.time())

    async def _read(self, device: _Device, deadline: float | None) -> dict[str, float | None]:
        spec = device.spec
        try:
            return await self._read_plan(device, device.plan, deadline)
        except ReadError as exc:
            if exc.kind != "exception" or exc.code != ILLEGAL_ADDRESS or device.plan == device.tight_plan:
                raise
        log.warning("%s refuses reads across register gaps; reading its fields without gaps", spec.id)
        device.plan = device.tight_plan
        return await self._read_plan(device, device.plan, deadline)

    async def _read_plan(
        self, device: _Device, plan: tuple[Block, ...], deadline: float | None
    ) -> dict[str, float | None]:
        spec = device.spec
        values: dict[str, float | None] = {}
        for block in plan:
            registers = await self.link.read(
                unit=spec.unit,
                function_code=block.function_code,
                start=block.start,
                count=block.count,
                deadline=deadline,
            )
            for name, value, reason in block.decode(registers):
                values[name] = value
                if reason:
                    self.reporter.count(f"gateway_modbus_{reason}_total", device=spec.id)
        return values

    def _report_implausible(self, device: _Device, checked: Checked, now: float) -> None:
        spec = device.spec
        for rejection in checked.rejections:
            self.reporter.count(
                "gateway_modbus_implausible_total", device=spec.id, field=rejection.field, reason=rejection.reason
            )
            key = (rejection.field, rejection.reason)
            last = device.logged_implausible.get(key)
            if last is None or now - last >= IMPLAUSIBLE_LOG_EVERY_S:
                device.logged_implausible[key] = now
                log.warning(
                    "%s: implausible %s rejected (%s: %s); counted in gateway_modbus_implausible_total, "
                    "logged at most once an hour",
                    spec.id,
                    rejection.field,
                    rejection.reason,
                    rejection.detail,
                )
        for name in checked.resets:
            self.reporter.count("gateway_modbus_counter_resets_total", device=spec.id, field=name)
            log.warning("%s: counter %s went back or jumped and stayed there: taken as reset", spec.id, name)

    def _failed(self, device: _Device, exc: ReadError) -> None:
        spec = device.spec
        self.reporter.count("gateway_device_errors_total", device=spec.id)
        # per bus and kind, not per device: per-device failures are counted once, above
        self.reporter.count("gateway_modbus_errors_total", bus=self.spec.name, kind=exc.kind)
        change = device.health.record(False)
        if change is None:
            return
        if change == "down":
            device.down_since_ns = self._wall_ns()
            log.warning(
                "%s (unit %d on bus %s) is not answering: %s; retrying with backoff up to %gs",
                spec.id,
                spec.unit,
                self.spec.name,
                exc,
                self.spec.max_backoff_s,
            )
        else:  # a flap: it failed again before its hold-off ended
            self.reporter.count("gateway_modbus_flaps_total", device=spec.id)
        since = device.down_since_ns or self._wall_ns()
        self.reporter.unavailable(Unavailable(spec.id, since, f"{exc.kind}: {exc}"))

    def _succeeded(self, device: _Device, values: dict[str, float | None], time_ns: int) -> None:
        spec = device.spec
        health = device.health
        if health.record(True) == "recovered":
            log.info(
                "%s recovered: answered %d polls in a row after %d failed polls (%d flaps)",
                spec.id,
                health.answers_in_row,
                health.episode_failures,
                health.episode_flaps,
            )
            device.down_since_ns = None
        try:
            reading = Reading.make("meter", spec.tags, values, time_ns=time_ns)
        except ValueError as exc:  # a clock that is not set
            self.reporter.count("gateway_modbus_dropped_total", device=spec.id)
            log.debug("%s: reading dropped: %s", spec.id, exc)
            return
        try:
            self.reporter.reading(reading)
        except Exception:  # the core's trouble is not the meter's: say it, keep polling
            log.exception("%s: publishing a reading failed", spec.id)


def _why_no_values(checked: Checked) -> str:
    if not checked.rejections:
        return "every value missing (not available or not a number)"
    shown = ", ".join(f"{r.field} {r.detail}" for r in checked.rejections[:3])
    more = f" and {len(checked.rejections) - 3} more" if len(checked.rejections) > 3 else ""
    return f"no plausible value ({shown}{more})"
