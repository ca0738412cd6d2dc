"""One task per bus against a real pymodbus TCP server: readings, outages, late replies, backoff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import pytest

from drivers.modbus_bus import BusPoller, BusSpec, DeviceSpec
from drivers.modbus_link import TcpLink
from drivers.modbus_plan import plan_blocks
from drivers.modbus_profile import load_profile
from drivers.sim.meters import SimMeter, SimulatedMeters
from tests.support.modbus_recorder import Recorder, wait_until
from tests.support.procs import free_port

pytestmark = pytest.mark.integration

SDM120 = load_profile("sdm120")
SDM630 = load_profile("sdm630")
VALUES_1 = {"voltage_v": 101.0, "current_a": 1.0, "power_w": 1000.0, "power_factor": 0.9,
            "frequency_hz": 50.0, "energy_import_kwh": 111.0, "energy_export_kwh": 0.0}  # fmt: skip
SCALED = ("voltage_v", "current_a", "power_w", "energy_import_kwh")  # frequency and power factor stay plausible
VALUES_2 = {k: v * 2 if k in SCALED else v for k, v in VALUES_1.items()}
VALUES_3 = {k: v * 3 if k in SCALED else v for k, v in VALUES_1.items()}


def _device(name: str, unit: int, *, interval: float = 0.2, profile=SDM120) -> DeviceSpec:
    return DeviceSpec(name, unit, profile, interval, {"site": "test", "device": name, "building": "mairie"})


def _spec(port: int, *devices: DeviceSpec, timeout: float = 0.3, max_backoff: float = 1.0) -> BusSpec:
    return BusSpec(
        "compteurs", TcpLink("127.0.0.1", port), devices, timeout_s=timeout, max_backoff_s=max_backoff
    )


@contextlib.asynccontextmanager
async def _running(poller: BusPoller):
    task = asyncio.create_task(poller.run(), name="bus")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _three_meters(sim_meters) -> SimulatedMeters:
    sim = await sim_meters([SimMeter(1, SDM120), SimMeter(2, SDM120), SimMeter(3, SDM120)])
    for unit, values in ((1, VALUES_1), (2, VALUES_2), (3, VALUES_3)):
        sim.set_values(unit, values)
    return sim


async def test_readings_are_meter_points_with_tags_and_measurement_time(sim_meters):
    sim = await sim_meters(
        [
            SimMeter(1, SDM630),
            SimMeter(5, load_profile("pulse-counter").bind(quantity="water_m3", scale=0.001)),
        ]
    )
    recorder = Recorder()
    spec = _spec(sim.port, _device("mairie-general", 1, profile=SDM630),
                 _device("ecole-eau", 5, profile=sim.meters[5].profile))  # fmt: skip
    before = time.time_ns()
    async with _running(BusPoller(spec, recorder)):
        await wait_until(
            lambda: len(recorder.of("ecole-eau")) >= 3 and len(recorder.of("mairie-general")) >= 3
        )
    after = time.time_ns()
    first = recorder.of("mairie-general")[0]
    assert first.measurement == "meter"
    assert dict(first.tags) == {"site": "test", "device": "mairie-general", "building": "mairie"}
    assert set(first.field_map()) == {f.name for f in SDM630.fields}
    assert before <= first.time_ns <= after
    water = [r.field_map()["water_m3"] for r in recorder.of("ecole-eau")]
    assert water == sorted(water)  # a counter never goes back
    # one request per planned block per poll: sdm630 over TCP is one request
    assert len(plan_blocks(SDM630.fields, bus_kind="tcp")) == 1
    polls = len(recorder.of("mairie-general"))
    assert polls <= sim.request_count(1) <= polls + 1


async def test_a_silent_meter_is_backed_off_logged_once_and_recovers_while_neighbours_keep_their_rate(
    sim_meters, caplog
):
    caplog.set_level(logging.INFO, logger="drivers.modbus")
    sim = await _three_meters(sim_meters)
    recorder = Recorder()
    poller = BusPoller(_spec(sim.port, _device("m1", 1), _device("m2", 2), _device("m3", 3)), recorder)
    async with _running(poller):
        await wait_until(lambda: len(recorder.of("m2")) >= 3, what="first readings")
        sim.silence(2)
        silent_from = time.monotonic()
        requests_before = sim.request_count(2)
        await asyncio.sleep(3.0)
        silent_to = time.monotonic()
        attempts = sim.request_count(2) - requests_before
        sim.silence(2, False)
        await wait_until(lambda: recorder.between("m2", silent_to, time.monotonic()) >= 2, what="readings")
        # "recovered" is said once, after the hold-off: 10 polls in a row answered
        await wait_until(lambda: any("m2 recovered" in r.getMessage() for r in caplog.records), what="recovery")
    # neighbours kept their 0.2 s rate (about 15 polls in 3 s; a few timeouts of m2 cost 0.3 s each)
    for neighbour in ("m1", "m3"):
        assert recorder.between(neighbour, silent_from, silent_to) >= 9
    # backoff: 0.4 s, 0.8 s, then the 1 s cap -> about 4 attempts in 3 s, not 15
    assert 2 <= attempts <= 5
    assert recorder.errors("m2") == attempts
    assert recorder.errors("m1") == recorder.errors("m3") == 0
    assert [u.device for u in recorder.unavailable_reports] == ["m2"]
    assert "timeout" in recorder.unavailable_reports[0].error
    messages = [r.getMessage() for r in caplog.records if "m2" in r.getMessage()]
    assert len([m for m in messages if "is not answering" in m]) == 1
    assert len([m for m in messages if "recovered" in m]) == 1
    assert not any(r.exc_info for r in caplog.records)
    assert recorder.of("m2")[-1].field_map() == VALUES_2


async def test_a_late_reply_after_a_timeout_is_never_read_as_the_next_answer(sim_meters):
    sim = await _three_meters(sim_meters)
    recorder = Recorder()
    poller = BusPoller(_spec(sim.port, _device("m1", 1), _device("m2", 2), timeout=0.3), recorder)
    m1, m2 = poller.devices
    await poller.poll(m1)
    assert recorder.of("m1")[-1].field_map() == VALUES_1
    sim.delay_next(1, 0.8)  # m1's next reply comes 0.5 s after the driver gave up
    await poller.poll(m1)
    assert recorder.errors("m1") == 1
    await poller.poll(m2)  # asked while m1's late reply is still on its way
    await asyncio.sleep(0.7)  # the late reply has now been sent
    await poller.poll(m2)
    await poller.poll(m1)
    assert [r.field_map() for r in recorder.of("m2")] == [VALUES_2, VALUES_2]
    assert recorder.of("m1")[-1].field_map() == VALUES_1
    assert poller.link.connects == 2  # the timeout dropped the connection
    poller.link.close()


async def test_the_bus_reconnects_by_itself_after_the_server_goes_away(sim_meters):
    port = free_port()
    recorder = Recorder()
    meters = [SimMeter(1, SDM120), SimMeter(2, SDM120)]
    poller = BusPoller(_spec(port, _device("m1", 1), _device("m2", 2), max_backoff=0.8), recorder)
    async with _running(poller):
        async with SimulatedMeters(meters, port=port):
            await wait_until(lambda: len(recorder.of("m1")) >= 2 and len(recorder.of("m2")) >= 2)
        down_at = time.monotonic()
        await asyncio.sleep(1.5)  # outage: the server is gone
        assert recorder.between("m1", down_at + 0.5, time.monotonic()) == 0
        async with SimulatedMeters(meters, port=port):
            back_at = time.monotonic()
            await wait_until(
                lambda: (
                    recorder.between("m1", back_at, time.monotonic()) >= 2
                    and recorder.between("m2", back_at, time.monotonic()) >= 2
                ),
                what="readings after the outage",
            )
    assert {u.device for u in recorder.unavailable_reports} == {"m1", "m2"}


async def test_a_meter_refusing_reads_across_gaps_gets_gapless_requests(sim_meters, caplog):
    caplog.set_level(logging.WARNING, logger="drivers.modbus")
    sim = await sim_meters([SimMeter(1, SDM120)], strict_gaps=True)
    sim.set_values(1, VALUES_1)
    recorder = Recorder()
    async with _running(BusPoller(_spec(sim.port, _device("m1", 1)), recorder)):
        await wait_until(lambda: len(recorder.of("m1")) >= 2)
    assert recorder.of("m1")[0].field_map() == VALUES_1
    assert recorder.errors("m1") == 0
    assert sum("without gaps" in r.getMessage() for r in caplog.records) == 1
    gapless = [(b.start, b.count) for b in plan_blocks(SDM120.fields, bus_kind="tcp", read_gaps=False)]
    assert [(s, c) for _u, _fc, s, c in sim.requests[-len(gapless) :]] == gapless


async def test_missing_and_non_finite_values_are_counted_not_published(sim_meters):
    sim = await sim_meters([SimMeter(1, SDM120)])
    sim.set_values(1, {**VALUES_1, "voltage_v": None, "power_factor": None})  # NaN on the wire
    recorder = Recorder()
    poller = BusPoller(_spec(sim.port, _device("m1", 1)), recorder)
    await poller.poll(poller.devices[0])
    poller.link.close()
    fields = recorder.of("m1")[0].field_map()
    assert "voltage_v" not in fields
    assert "power_factor" not in fields
    assert fields["power_w"] == 1000.0
    assert recorder.counts[("gateway_modbus_nonfinite_total", (("device", "m1"),))] == 2


class _BrokenCounter(Recorder):
    """A core whose metrics fail: an unexpected error inside a poll."""

    def count(self, name: str, **labels: str) -> None:
        if name == "gateway_modbus_nonfinite_total":
            raise RuntimeError("metrics exploded")
        super().count(name, **labels)


async def test_an_unexpected_error_fails_that_device_once_and_the_bus_goes_on(sim_meters, caplog):
    caplog.set_level(logging.INFO, logger="drivers.modbus")
    sim = await sim_meters([SimMeter(1, SDM120), SimMeter(2, SDM120)])
    sim.set_values(1, {**VALUES_1, "voltage_v": None})  # NaN: triggers the failing counter
    sim.set_values(2, VALUES_2)
    recorder = _BrokenCounter()
    poller = BusPoller(_spec(sim.port, _device("m1", 1), _device("m2", 2), max_backoff=0.4), recorder)
    async with _running(poller):
        await wait_until(lambda: recorder.errors("m1") >= 3 and len(recorder.of("m2")) >= 5)
    assert recorder.of("m1") == []
    assert all(r.field_map() == VALUES_2 for r in recorder.of("m2"))
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1
    assert "m1: unexpected error while polling" in tracebacks[0].getMessage()
    assert recorder.unavailable_reports[0].error == "protocol: unexpected RuntimeError: metrics exploded"


async def test_implausible_values_are_dropped_and_counted_per_device_field_and_reason(sim_meters, caplog):
    caplog.set_level(logging.WARNING, logger="drivers.modbus")
    sim = await sim_meters([SimMeter(1, SDM120)])
    sim.set_values(1, {**VALUES_1, "voltage_v": 3.4e38, "energy_import_kwh": -5.0, "frequency_hz": 0.0})
    recorder = Recorder()
    poller = BusPoller(_spec(sim.port, _device("m1", 1)), recorder)
    for _ in range(3):
        await poller.poll(poller.devices[0])
    poller.link.close()
    # never journaled: the reading carries only the plausible values
    assert [set(r.field_map()) for r in recorder.readings] == [{"current_a", "power_w", "power_factor",
                                                                "energy_export_kwh"}] * 3  # fmt: skip
    for field, reason in (("voltage_v", "above_max"), ("energy_import_kwh", "below_min"), ("frequency_hz", "below_min")):
        key = ("gateway_modbus_implausible_total", (("device", "m1"), ("field", field), ("reason", reason)))
        assert recorder.counts[key] == 3
    warnings = [r.getMessage() for r in caplog.records if "implausible" in r.getMessage()]
    assert len(warnings) == 3  # once per field and reason, not once per poll
    assert "m1: implausible voltage_v rejected (above_max: 3.4e+38 outside 0..450)" in warnings[0]
    assert recorder.unavailable_reports == []  # the meter answers; some of its values are wrong


async def test_a_meter_answering_only_nan_is_unavailable_logged_once_and_recovers_once(sim_meters, caplog):
    caplog.set_level(logging.INFO, logger="drivers.modbus")
    sim = await sim_meters([SimMeter(1, SDM120), SimMeter(2, SDM120)])
    sim.set_values(1, dict.fromkeys(VALUES_1))  # NaN in every float register
    sim.set_values(2, VALUES_2)
    recorder = Recorder()
    poller = BusPoller(_spec(sim.port, _device("m1", 1), _device("m2", 2), max_backoff=0.4), recorder)
    async with _running(poller):
        await wait_until(lambda: recorder.errors("m1") >= 4, what="several failed polls")
        assert recorder.of("m1") == []
        sim.set_values(1, VALUES_1)
        await wait_until(lambda: any("m1 recovered" in r.getMessage() for r in caplog.records), what="recovery")
    assert [u.device for u in recorder.unavailable_reports] == ["m1"]
    assert recorder.unavailable_reports[0].error == "no_values: every value missing (not available or not a number)"
    messages = [r.getMessage() for r in caplog.records if r.getMessage().startswith("m1")]
    assert len([m for m in messages if "is not answering" in m]) == 1
    assert len([m for m in messages if "recovered" in m]) == 1
    assert recorder.of("m1")[-1].field_map() == VALUES_1
    assert recorder.errors("m2") == 0


async def test_a_meter_answering_only_implausible_values_is_unavailable_too(sim_meters):
    sim = await sim_meters([SimMeter(1, SDM120)])
    sim.set_values(1, {**dict.fromkeys(VALUES_1), "voltage_v": -3.4e38, "power_w": 3.4e38})
    recorder = Recorder()
    poller = BusPoller(_spec(sim.port, _device("m1", 1)), recorder)
    await poller.poll(poller.devices[0])
    poller.link.close()
    (status,) = recorder.unavailable_reports
    assert status.error == (
        "no_values: no plausible value (voltage_v -3.4e+38 outside 0..450, power_w 3.4e+38 outside -18000..18000)"
    )
