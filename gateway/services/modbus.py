"""Modbus subsystem: one service (one task) per bus, producing ``meter`` readings.

Rules of this module:
- wiring only: configuration -> :class:`drivers.modbus_bus.BusSpec`, core -> reporter; the
  polling itself lives in ``drivers/``;
- disabled devices are not polled; a bus without enabled devices gets no task;
- in the demo, ``village-gateway demo`` starts :mod:`drivers.sim.meters` before the daemon, so
  nothing here differs between the demo and a real village.
"""

from __future__ import annotations

from drivers.modbus_bus import BusPoller, BusSpec, DeviceSpec
from drivers.modbus_link import RtuLink, TcpLink
from gateway.config import GatewayConfig
from gateway.core import Core
from gateway.model import Reading, Unavailable
from gateway.schema.modbus import RtuBusConfig, TcpBusConfig
from gateway.service import Service, StopPhase

METRICS = {
    "gateway_device_errors_total": "failed polls per device (timeouts, resets, bad replies, no plausible value)",
    "gateway_modbus_errors_total": "failed Modbus polls per bus and kind (timeout, connect, reset, garbled, "
    "truncated, exception, protocol, no_values)",
    "gateway_modbus_not_available_total": "values a meter marked 'not available' (0xFFFF…, 0x7FFF…, 0x8000…)",
    "gateway_modbus_nonfinite_total": "float values that were NaN or infinite (published as missing)",
    "gateway_modbus_implausible_total": "values outside the profile's bounds, or counters going back or leaping, "
    "per device, field and reason (never journaled)",
    "gateway_modbus_counter_resets_total": "counters that went back or leapt and stayed there: taken as reset",
    "gateway_modbus_flaps_total": "failures of a device that had answered again within its hold-off (not logged)",
    "gateway_modbus_skipped_polls_total": "poll slots skipped because the previous reading came late (no bursts)",
    "gateway_modbus_dropped_total": "readings that could not be dated (clock not set)",
}


class CoreReporter:
    """What a bus poller learns, handed to the core."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def reading(self, reading: Reading) -> None:
        self.core.publish(reading)

    def unavailable(self, status: Unavailable) -> None:
        self.core.unavailable(status)

    def count(self, name: str, **labels: str) -> None:
        self.core.metrics.inc(name, 1.0, **labels)


class ModbusBusService:
    """The task that owns one bus."""

    stop_phase = StopPhase.PRODUCER

    def __init__(self, poller: BusPoller) -> None:
        self.poller = poller
        self.name = f"modbus:{poller.spec.name}"

    def prepare(self) -> None:
        """Nothing to do before the tasks start."""

    async def run(self) -> None:
        await self.poller.run()


def bus_spec(bus_id: str, bus: TcpBusConfig | RtuBusConfig, core: Core) -> BusSpec:
    """The driver's view of one configured bus."""
    link: TcpLink | RtuLink
    if isinstance(bus, TcpBusConfig):
        link = TcpLink(bus.host, bus.port)
    else:
        link = RtuLink(bus.port, bus.baudrate, bus.parity, bus.stopbits, bus.bytesize)
    devices = tuple(
        DeviceSpec(
            id=dev.id,
            unit=dev.unit,
            profile=dev.meter_profile,
            interval_s=dev.interval_s,
            tags=core.tags(device=dev.id, building=dev.building, zone=dev.zone),
        )
        for dev in bus.devices
        if dev.enabled
    )
    return BusSpec(bus_id, link, devices, timeout_s=bus.timeout_s, max_backoff_s=bus.max_backoff_s)


def build(config: GatewayConfig, core: Core) -> list[Service]:
    """One :class:`ModbusBusService` per bus that has enabled devices."""
    for name, help_text in METRICS.items():
        core.metrics.describe(name, "counter", help_text)
    reporter = CoreReporter(core)
    services: list[Service] = []
    for bus_id, bus in config.buses.items():
        spec = bus_spec(bus_id, bus, core)
        if spec.devices:
            services.append(ModbusBusService(BusPoller(spec, reporter, wall_ns=core.clock.time_ns)))
    return services
