"""drivers/gpio.py on gpiozero's own MockFactory: boot states, polarity, the thread bridge, debounce."""

from __future__ import annotations

import asyncio
import threading

import pytest
from gpiozero.pins.mock import MockFactory
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.gpio import Edge, GpioBank, GpioError, InputSpec, RelaySpec


@pytest.fixture
def factory() -> MockFactory:
    return MockFactory()


class Ticks:
    """A hand-driven monotonic source for debounce."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize(
    ("active_high", "boot_on", "pin_level"),
    [(True, False, False), (True, True, True), (False, False, True), (False, True, False)],
)
def test_prepare_drives_each_relay_to_its_declared_boot_state(factory, active_high, boot_on, pin_level):
    # Given a relay declared with a polarity and a boot state
    bank = GpioBank(relays=[RelaySpec("heater", 17, active_high=active_high, boot_on=boot_on)], pin_factory=factory)
    # When the bank is prepared
    bank.prepare()
    # Then the pin is at the level meaning that boot state, and "on" means energised above the driver
    assert factory.pin(17).state is pin_level
    assert bank.get("heater") is boot_on


def test_set_reports_a_change_only_when_the_pin_changes_and_active_low_is_inverted(factory):
    bank = GpioBank(relays=[RelaySpec("heater", 17, active_high=False)], pin_factory=factory)
    bank.prepare()
    assert bank.set("heater", True) is True
    assert factory.pin(17).state is False  # active-low board: energised = pin low
    assert bank.set("heater", True) is False
    assert bank.set("heater", False) is True
    assert factory.pin(17).state is True


def test_a_relay_flipped_behind_the_back_is_visible_on_read(factory):
    bank = GpioBank(relays=[RelaySpec("heater", 17)], pin_factory=factory)
    bank.prepare()
    factory.pin(17).state = True  # someone drove the pin
    assert bank.get("heater") is True
    assert bank.relay_states() == {"heater": True}


def test_unknown_or_unprepared_relays_are_refused(factory):
    bank = GpioBank(relays=[RelaySpec("heater", 17)], pin_factory=factory)
    with pytest.raises(GpioError, match="not prepared"):
        bank.set("heater", True)
    bank.prepare()
    with pytest.raises(KeyError):
        bank.set("nope", True)


def test_a_pin_claimed_twice_is_a_clear_error(factory):
    bank = GpioBank(relays=[RelaySpec("a", 17)], inputs=[InputSpec("b", 17, kind="motion")], pin_factory=factory)
    with pytest.raises(GpioError, match="b: cannot claim input pin 17"):
        bank.prepare()


def test_duplicate_names_are_refused(factory):
    with pytest.raises(ValueError, match="duplicate"):
        GpioBank(relays=[RelaySpec("a", 17)], inputs=[InputSpec("a", 5, kind="motion")], pin_factory=factory)


async def test_edges_from_another_thread_arrive_in_the_loop_thread(factory):
    # Given a motion input attached to the running loop
    bank = GpioBank(inputs=[InputSpec("pir", 5, kind="motion")], pin_factory=factory)
    bank.prepare()
    got: list[tuple[Edge, str]] = []
    arrived = asyncio.Event()

    def listener(edge: Edge) -> None:
        got.append((edge, threading.current_thread().name))
        arrived.set()

    bank.attach(asyncio.get_running_loop(), listener)
    # When the pin goes high in a foreign thread (as gpiozero's callback threads do)
    thread = threading.Thread(target=factory.pin(5).drive_high, name="gpio-callback")
    thread.start()
    thread.join()
    await asyncio.wait_for(arrived.wait(), 2)
    # Then the edge is delivered in the loop's thread, timestamped
    edge, thread_name = got[0]
    assert (edge.input, edge.kind, edge.active) == ("pir", "motion", True)
    assert thread_name == threading.current_thread().name
    assert bank.input_active("pir") is True


@pytest.mark.parametrize(
    ("pull", "active_high", "drive_high_means_active"),
    [("down", True, True), ("up", True, True), ("up", False, False), ("none", True, True), ("down", False, False)],
)
async def test_input_polarity(factory, pull, active_high, drive_high_means_active):
    bank = GpioBank(
        inputs=[InputSpec("win", 5, kind="contact", pull=pull, active_high=active_high)], pin_factory=factory
    )
    bank.prepare()
    bank.attach(asyncio.get_running_loop())
    pin = factory.pin(5)
    pin.drive_high()
    await asyncio.sleep(0)
    assert bank.input_active("win") is drive_high_means_active
    pin.drive_low()
    await asyncio.sleep(0)
    assert bank.input_active("win") is (not drive_high_means_active)


async def test_pulse_counter_counts_rising_edges_and_ignores_bounces(factory):
    # Given a pulse input with 50 ms debounce and a controllable tick source
    ticks = Ticks()
    bank = GpioBank(inputs=[InputSpec("water", 6, kind="pulse", debounce_s=0.05)], pin_factory=factory, ticks=ticks)
    bank.prepare()
    edges: list[Edge] = []
    bank.attach(asyncio.get_running_loop(), edges.append)
    pin = factory.pin(6)

    def pulse(bounce: bool) -> None:
        pin.drive_high()
        ticks.t += 0.001
        if bounce:  # contact bounce: low-high within a millisecond
            pin.drive_low()
            ticks.t += 0.001
            pin.drive_high()
        ticks.t += 0.1
        pin.drive_low()
        ticks.t += 0.2

    # When three clean pulses and two bouncing ones arrive
    for bounce in (False, True, False, True, False):
        pulse(bounce)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    # Then exactly five pulses are counted and the bounces were ignored, counted apart
    assert bank.pulse_count("water") == 5
    assert [e.count for e in edges if e.active] == [1, 2, 3, 4, 5]
    assert bank.bounces >= 2


async def test_pulses_faster_than_the_meter_can_give_are_counted_apart_and_never_delivered(factory, caplog):
    # Given a water meter's pulse input: 1 L per pulse, at most 5 m3/h = 1.39 pulses a second
    ticks = Ticks()
    rate = 5 / 0.001 / 3600
    spec = InputSpec("water", 6, kind="pulse", debounce_s=0.005, max_rate_hz=rate)
    bank = GpioBank(inputs=[spec], pin_factory=factory, ticks=ticks)
    counted: list[tuple[str, dict[str, str]]] = []
    bank.count_with(lambda name, **labels: counted.append((name, labels)))
    bank.prepare()
    edges: list[Edge] = []
    bank.attach(asyncio.get_running_loop(), edges.append)
    pin = factory.pin(6)

    def pulse(width: float, gap: float) -> None:
        pin.drive_high()
        ticks.t += width
        pin.drive_low()
        ticks.t += gap

    # When a contactor's interference makes 20 clean-looking pulses in 0.4 s (each longer than the debounce)
    for _ in range(20):
        pulse(0.01, 0.01)
    await asyncio.sleep(0)
    # Then only the bucket's slack is counted, the rest is implausible: counted apart, never delivered
    assert bank.pulse_count("water") == 2
    assert bank.implausible == {"water": 18}
    assert counted == [("gateway_gpio_implausible_pulses_total", {"input": "water"})] * 18
    assert [e.count for e in edges if e.active] == [1, 2]
    assert len([e for e in edges if not e.active]) == 2  # the ends of swallowed pulses are swallowed too
    assert caplog.text.count("a pulse came faster than its meter can give them") == 1  # logged once
    # When the meter then gives real pulses, at its full flow, for a minute
    ticks.t += 2.0
    for _ in range(83):
        pulse(0.1, 1 / rate - 0.1)
    await asyncio.sleep(0)
    # Then every one of them is counted (the allowance refills at the meter's rate)
    assert bank.pulse_count("water") == 2 + 83
    assert bank.implausible == {"water": 18}


async def test_a_pulse_input_without_a_rate_counts_everything(factory):
    ticks = Ticks()
    bank = GpioBank(inputs=[InputSpec("water", 6, kind="pulse")], pin_factory=factory, ticks=ticks)
    bank.prepare()
    bank.attach(asyncio.get_running_loop())
    for _ in range(50):
        factory.pin(6).drive_high()
        factory.pin(6).drive_low()
    await asyncio.sleep(0)
    assert bank.pulse_count("water") == 50
    assert bank.implausible == {}


async def test_edges_after_close_are_dropped_quietly(factory):
    bank = GpioBank(inputs=[InputSpec("pir", 5, kind="motion")], pin_factory=factory)
    bank.prepare()
    edges: list[Edge] = []
    bank.attach(asyncio.get_running_loop(), edges.append)
    bank.close()
    assert edges == []
    with pytest.raises(KeyError):
        bank.get("pir")


@settings(max_examples=60, deadline=None)
@given(
    pulses=st.lists(
        st.tuples(
            st.floats(min_value=0.031, max_value=0.5),  # pulse width (s), longer than the debounce
            st.floats(min_value=0.031, max_value=5.0),  # gap to the next pulse (s)
            st.integers(min_value=0, max_value=4),  # contact bounces on the rising edge
        ),
        max_size=40,
    )
)
def test_property_every_real_pulse_is_counted_once_whatever_its_bounces(pulses):
    # Given a pulse input with a 30 ms debounce
    ticks = Ticks()
    factory = MockFactory()
    bank = GpioBank(inputs=[InputSpec("water", 6, kind="pulse", debounce_s=0.03)], pin_factory=factory, ticks=ticks)
    bank.prepare()
    loop = asyncio.new_event_loop()
    try:
        bank.attach(loop)
        pin = factory.pin(6)
        # When each pulse rises (with bounces shorter than the debounce), stays up, falls, and rests
        for width, gap, bounces in pulses:
            pin.drive_high()
            for _ in range(bounces):
                ticks.t += 0.002
                pin.drive_low()
                ticks.t += 0.002
                pin.drive_high()
            ticks.t += width
            pin.drive_low()
            ticks.t += gap
        loop.run_until_complete(asyncio.sleep(0))
        # Then the count is exactly the number of pulses
        assert bank.pulse_count("water") == len(pulses)
    finally:
        bank.close()
        loop.close()
