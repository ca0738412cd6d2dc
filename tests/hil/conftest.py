"""Hardware in the loop: the real daemon, gpiozero MockFactory pins, the simulated hall, a manual clock.

The ``village`` fixture starts :class:`gateway.daemon.Daemon` on a small test village (the salle
des fêtes: an on/off heater behind an active-low relay, a window contact, a parvis light with a
presence detector) and gives the test a :class:`Village` to drive it: step time, drive pins, book,
read what the relays did (a recorder at the relay boundary).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from gpiozero.pins.mock import MockFactory

from gateway.clock import ManualClock
from gateway.config import parse_config
from gateway.daemon import Daemon, RunOptions
from gateway.hooks import Hooks
from gateway.model import Event, Reading
from tests.support.procs import free_port
from tests.support.village import gpio_input, hall, lighting_circuit, relay, site

PARIS = ZoneInfo("Europe/Paris")

#: The grande salle's protections: off when its thermometer falls silent, off while the window is
#: open, optimum start before a booking.
PROTECTIONS = """failsafe = { stale_after_min = 15, mode = "off" }
window = { contacts = ["salle-fenetre"], off_min = 30 }
optimum_start = { max_preheat_h = 8 }
model = { archetype = "salle-des-fetes-1980", floor_area_m2 = 300 }
"""

#: The test village; ``{state_dir}`` is filled in by :func:`village_config`.
HALL = (
    site("hil", "Banc HIL", timezone="Europe/Paris")
    + hall(sensor="salle-thermo", schedule=None, heating=PROTECTIONS)
    + "\n\n"
    + relay("salle-chauffage", 24, active_high=False, boot="off", building="salle", zone="grande_salle")
    + relay("salle-parvis", 13, building="salle")
    + gpio_input("salle-fenetre", 20, kind="contact", pull="up", building="salle", zone="grande_salle")
    + gpio_input("salle-presence", 21, kind="motion", building="salle")
    + """
[lighting]
night_cut = { start = "23:00", end = "05:00" }
"""
    + lighting_circuit(
        "parvis",
        name="Parvis",
        relay="salle-parvis",
        presence=["salle-presence"],
        presence_hold_min=5,
        presence_in_night_cut=True,
    )
    + """
[journal]
commit_interval_s = 0.2

[service]
state_dir = "{state_dir}"
"""
)


def village_config(text: str, tmp_path: Path) -> Any:
    """Parse a test village's TOML with its state directory under ``tmp_path``."""
    return parse_config(text.replace("{state_dir}", str(tmp_path / "state")))


#: The pins of the test village (BCM numbers) and the heater's polarity.
HEATER_PIN, PARVIS_PIN, WINDOW_PIN, PRESENCE_PIN = 24, 13, 20, 21


@dataclass(frozen=True)
class Switch:
    """One relay change as journaled: when (local time), which relay, its new level and why."""

    at: datetime
    relay: str
    on: bool
    reason: str


class Village:
    """Drives the daemon like the world would: time passes, pins move, people book the hall."""

    def __init__(self, daemon: Daemon, clock: ManualClock, factory: MockFactory) -> None:
        self.daemon = daemon
        self.clock = clock
        self.pins = factory
        parts = daemon.parts
        assert parts is not None
        self.control = parts.control
        self.service = parts.control_service
        self.plant = parts.plant
        self.switches: list[Switch] = []
        self.events: list[Event] = []
        core = daemon.core
        assert core is not None
        core.on_reading(self._record)
        core.on_event(self.events.append)

    def _record(self, reading: Reading) -> None:
        if reading.measurement == "relay":
            fields = reading.field_map()
            at = datetime.fromtimestamp(reading.time_ns / 1e9, UTC).astimezone(PARIS)
            self.switches.append(Switch(at, reading.tag("device") or "", bool(fields["on"]), str(fields["reason"])))

    # ---- the world --------------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        return self.clock.now().astimezone(PARIS)

    def heater_energised(self) -> bool:
        """The heater relay as the coil sees it (active-low board: energised when the pin is low)."""
        return self.pins.pin(HEATER_PIN).state is False

    def parvis_lit(self) -> bool:
        return self.pins.pin(PARVIS_PIN).state is True

    def hall_temperature(self) -> float:
        return self.plant.zones["salle/grande_salle"].model.temperature_c

    async def settle(self) -> None:
        """Let callbacks hopped into the loop (edges, readings) run."""
        for _ in range(3):
            await asyncio.sleep(0)

    async def advance(self, minutes: float, *, step_s: float = 60.0) -> None:
        """Let time pass: the plant integrates and publishes, the daemon reacts to each reading.

        The rules tick is the daemon's own: it sleeps on the manual clock's monotonic time, so it
        comes every 30 s of story time (once per step when a step is longer), whatever the wall
        clock does.
        """
        remaining = minutes * 60
        while remaining > 0:
            dt = min(step_s, remaining)
            self.clock.advance(dt)
            self.plant.step()
            await self.settle()
            remaining -= dt

    async def until(self, local: datetime, *, step_s: float = 60.0) -> None:
        """Advance to a local wall-clock time."""
        seconds = (local - self.now).total_seconds()
        await self.advance(seconds / 60, step_s=step_s)

    def zone(self) -> Any:
        return self.control.zone("salle", "grande_salle").status

    def book(self, label: str, *, hours: float, start: datetime | None = None, user: str = "secretaire") -> Any:
        """Book the grande salle in confort for ``hours`` from ``start`` (now by default), as the secretary does
        on the zone page; the façade's answer is returned."""
        begin = self.now if start is None else start
        return self.control.add_override(
            "salle", "grande_salle", mode="confort", start=start, end=begin + timedelta(hours=hours), label=label, user=user
        )

    def switches_of(self, relay: str) -> list[Switch]:
        return [s for s in self.switches if s.relay == relay]


@pytest.fixture
def hall_config(tmp_path: Path) -> Any:
    return village_config(HALL, tmp_path)


@contextlib.asynccontextmanager
async def running_village(
    config: Any, start: datetime, *, synchronised: bool = True, **hooks: Any
) -> AsyncIterator[Village]:
    """The daemon on ``config`` from local time ``start``, stopped cleanly afterwards.

    ``synchronised=False``: the manual clock reports no NTP synchronisation until the test says so.
    """
    clock = ManualClock(start, synchronised=synchronised)
    factory = MockFactory()
    options = RunOptions(
        clock=clock,
        pin_factory=factory,
        http=f"127.0.0.1:{free_port()}",
        # the story's defaults, each overridable by the test (plant_period_s, plant_initial_c, ...)
        hooks=Hooks(**{"plant": True, "control_startup_grace_s": 0.0, "plant_period_s": 3600.0, **hooks}),
    )
    daemon = Daemon(config, options)
    daemon.build()
    village = Village(daemon, clock, factory)
    task = asyncio.create_task(daemon.run(), name="daemon")
    try:
        await asyncio.wait_for(daemon.started.wait(), 10)
        await village.settle()
        yield village
    finally:
        daemon.stop()
        await asyncio.wait_for(task, 15)


@pytest.fixture
async def village(hall_config: Any) -> AsyncIterator[Village]:
    """The hall on Saturday 28 November 2026, 10:00 in Paris, 12 °C inside."""
    start = datetime(2026, 11, 28, 10, 0, tzinfo=PARIS)
    async with running_village(hall_config, start) as v:
        yield v
