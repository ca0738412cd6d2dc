"""RS-485 (Modbus RTU) over a socat pty pair: two meters on one line, one task, late replies."""

from __future__ import annotations

import asyncio
import contextlib
import itertools

import pytest

from drivers.modbus_bus import BusPoller, BusSpec, DeviceSpec
from drivers.modbus_link import RtuLink
from drivers.modbus_plan import plan_blocks
from drivers.modbus_profile import load_profile
from drivers.sim.meters import SimMeter, SimulatedMeters
from tests.support.modbus_faults import FaultPlan, rtu_fault_tracer
from tests.support.modbus_recorder import Recorder, wait_until

pytestmark = pytest.mark.integration

SDM120 = load_profile("sdm120")
IEM3155 = load_profile("iem3155")
VALUES_SDM = {"voltage_v": 231.5, "current_a": 2.5, "power_w": 560.0, "power_factor": 0.97,
              "frequency_hz": 50.0, "energy_import_kwh": 4321.5, "energy_export_kwh": 0.0}  # fmt: skip
VALUES_IEM = {"current_l1_a": 10.5, "current_l2_a": 11.5, "current_l3_a": 12.5, "voltage_l1_v": 229.5,
              "voltage_l2_v": 230.5, "voltage_l3_v": 231.5, "power_l1_w": 2250.0, "power_l2_w": 2500.0,
              "power_l3_w": 2750.0, "power_w": 7500.0, "power_factor": 0.9, "frequency_hz": 50.0,
              "energy_import_kwh": 12345.678, "energy_export_kwh": None}  # fmt: skip


def _spec(port: str, *, timeout: float = 0.5) -> BusSpec:
    devices = (
        DeviceSpec("salle", 1, SDM120, 0.2, {"site": "t", "device": "salle"}),
        DeviceSpec("ecole", 2, IEM3155, 0.2, {"site": "t", "device": "ecole"}),
    )
    return BusSpec("rs485", RtuLink(port, 9600, "N"), devices, timeout_s=timeout, max_backoff_s=2.0)


@contextlib.asynccontextmanager
async def _line(rtu_pty):
    server_end, client_end = rtu_pty
    meters = [SimMeter(1, SDM120), SimMeter(2, IEM3155)]
    async with SimulatedMeters(meters, serial_port=server_end, baudrate=9600) as sim:
        sim.set_values(1, VALUES_SDM)
        sim.set_values(2, VALUES_IEM)
        yield sim, client_end


async def test_two_meters_on_one_rs485_line_polled_by_one_task(rtu_pty):
    async with _line(rtu_pty) as (sim, client_end):
        recorder = Recorder()
        poller = BusPoller(_spec(client_end), recorder)
        task = asyncio.create_task(poller.run())
        try:
            await wait_until(lambda: len(recorder.of("salle")) >= 3 and len(recorder.of("ecole")) >= 3)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert recorder.of("salle")[0].field_map() == VALUES_SDM
    assert recorder.of("ecole")[0].field_map() == {k: v for k, v in VALUES_IEM.items() if v is not None}
    assert recorder.errors("salle") == recorder.errors("ecole") == 0
    # RS-485 plans skip the large gaps: 3 requests for the SDM120, 6 for the iEM3155
    sdm_plan = [(b.start, b.count) for b in plan_blocks(SDM120.fields, bus_kind="rtu")]
    iem_plan = [(b.start, b.count) for b in plan_blocks(IEM3155.fields, bus_kind="rtu")]
    assert (len(sdm_plan), len(iem_plan)) == (3, 6)
    assert [(s, c) for u, _fc, s, c in sim.requests if u == 1][:3] == sdm_plan
    assert [(s, c) for u, _fc, s, c in sim.requests if u == 2][:6] == iem_plan


async def test_a_late_reply_on_the_line_is_never_taken_for_the_next_answer(rtu_pty):
    async with _line(rtu_pty) as (sim, client_end):
        recorder = Recorder()
        poller = BusPoller(_spec(client_end, timeout=0.3), recorder)
        salle, ecole = poller.devices
        await poller.poll(salle)
        sim.delay_next(1, 0.6)  # the SDM120 answers 0.3 s after the driver gave up
        await poller.poll(salle)
        assert recorder.errors("salle") == 1
        for _ in range(4):  # the late reply arrives on the line while these run
            await poller.poll(ecole)
            await asyncio.sleep(0.1)
        await poller.poll(salle)
        poller.link.close()
    ecole_values = {k: v for k, v in VALUES_IEM.items() if v is not None}
    readings = [r.field_map() for r in recorder.of("ecole")]
    # every answer the driver accepted is the iEM3155's own; a garbled one may be refused, never used
    assert readings
    assert all(values == ecole_values for values in readings)
    assert recorder.of("salle")[-1].field_map() == VALUES_SDM
    assert poller.link.connects >= 2  # the timeout closed the port


@contextlib.asynccontextmanager
async def _faulty_line(rtu_pty, plan: FaultPlan):
    """The two meters, their server garbling or cutting frames on the line as ``plan`` says."""
    server_end, client_end = rtu_pty
    meters = [SimMeter(1, SDM120), SimMeter(2, IEM3155)]
    async with SimulatedMeters(
        meters, serial_port=server_end, baudrate=9600, trace_packet=rtu_fault_tracer(plan)
    ) as sim:
        sim.set_values(1, VALUES_SDM)
        sim.set_values(2, VALUES_IEM)
        yield client_end


@pytest.mark.parametrize(
    ("action", "error"),
    [
        ("garble", "garbled: garbled reply: 33 bytes a4 a1 b9"),  # every other bit flipped: noise
        ("truncate", "truncated: truncated reply: 16 of 33 bytes, then silence"),
    ],
)
async def test_a_garbled_or_cut_frame_on_the_line_fails_at_once_and_the_next_answer_is_sound(rtu_pty, action, error):
    plan = FaultPlan()
    async with _faulty_line(rtu_pty, plan) as client_end:
        recorder = Recorder()
        poller = BusPoller(_spec(client_end, timeout=2.0), recorder)
        salle, ecole = poller.devices
        await poller.poll(salle)
        plan.set(1, action)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await poller.poll(salle)
        elapsed = loop.time() - started
        # the bad frame ends the poll after a short silence on the line, not after the 2 s timeout
        assert elapsed < 0.6
        assert recorder.unavailable_reports[0].error.startswith(error)
        plan.clear(1)
        await poller.poll(ecole)
        await poller.poll(salle)
        poller.link.close()
    assert recorder.of("ecole")[-1].field_map() == {k: v for k, v in VALUES_IEM.items() if v is not None}
    assert [r.field_map() for r in recorder.of("salle")] == [VALUES_SDM, VALUES_SDM]


async def test_a_meter_sending_garbage_on_the_line_does_not_slow_its_neighbour(rtu_pty):
    plan = FaultPlan()
    async with _faulty_line(rtu_pty, plan) as client_end:
        recorder = Recorder()
        devices = (
            DeviceSpec("salle", 1, SDM120, 1.0, {"site": "t", "device": "salle"}),
            DeviceSpec("ecole", 2, IEM3155, 1.0, {"site": "t", "device": "ecole"}),
        )
        spec = BusSpec("rs485", RtuLink(client_end, 9600, "N"), devices, timeout_s=1.0, max_backoff_s=2.0)
        poller = BusPoller(spec, recorder)
        # the SDM120 answers one poll in three (a poll is three requests on RS-485)
        plan.set(1, "garble", "truncate", "pass", "pass", "pass")
        task = asyncio.create_task(poller.run())
        await asyncio.sleep(10.0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    stamps = [t for t, d in recorder.stamps if d == "ecole"]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert len(stamps) >= 9  # 10 slots in 10 s
    # after the first round (the SDM120 was healthy then, and first in line), the iEM3155 keeps
    # its cadence; what varies is reopening the port its failing neighbour closed (tens of ms)
    steady = gaps[1:]
    assert sum(0.85 <= g <= 1.15 for g in steady) >= 0.8 * len(steady), gaps
    assert min(gaps) >= 0.45, gaps  # never a burst
    assert recorder.of("salle")  # it still gets through now and then
    assert recorder.errors("ecole") == 0
