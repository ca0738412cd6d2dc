"""The imperative shell of the rules: GPIO boot states, the rules tick, relays re-asserted.

Rules of this module:
- :func:`claim_outputs` claims every relay at its declared boot state, the first thing
  ``Daemon.build()`` does (before any file is opened); on shutdown every relay goes back to it;
- a failing evaluation never leaves the outputs at their last state: after ``RULES_FAIL_LIMIT``
  failures in a row the heating goes to its safe level (:meth:`ControlService.safe_levels`),
  one ``rules_failed`` alarm and one traceback per episode; a settings row the rules cannot use
  is skipped, counted, and said once;
- the rules run every ``tick_s`` (~30 s) of *monotonic* time, whatever the wall clock does (a step
  back of an hour must not stop them for an hour: the stale-sensor fail-safe and the safe levels
  depend on this tick), and at once on every relevant change: a temperature or counter reading of a
  device the rules use, an input edge, an edit through the façade. The tick is the service's own
  task in the daemon's TaskGroup (no scheduler that could stop on its own); an evaluation that
  raises is counted and handled, never ends it, and a tick that stops coming makes the daemon
  unhealthy (the watchdog stops, systemd restarts). Evaluations are synchronous and short
  (``decide`` is pure), in the loop;
- level-triggered: every evaluation re-asserts the desired state of every relay, so a relay set
  by hand is put back (logged once, counted) and after a restart the right state follows from now;
- control reads only the in-memory state store, the GPIO pins and the local settings store, never
  the network or InfluxDB;
- every relay change is journaled (measurement ``relay``: ``on`` and ``reason``), the decision's
  notices become events, and the engine memory is persisted (throttled) in the settings store;
- time on a Pi without RTC: every evaluation passes ``clock_trusted`` from the daemon's one
  :class:`gateway.clock_guard.ClockGuard` (safe modes while it is not); when the wall clock
  steps, every wall-time stamp the shell holds (relay switch times, input changes, the engine
  memory's measured times, readings measured before the step) moves by the step, so minimum
  on/off and maximum run times keep their true length and nothing is replayed or skipped.

``build()`` puts the :class:`gateway.control.Control` façade in ``options.extras["control"]`` for
the web and MQTT subsystems built after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from drivers.gpio import Edge, GpioBank, InputSpec, RelaySpec
from gateway.clock import sleep as monotonic_sleep
from gateway.clock_guard import ClockGuard, guard_for
from gateway.control import Alert, CircuitStatus, Control, Evaluation, ZoneStatus
from gateway.control_views import CounterRate, slots_from_periods
from gateway.model import Event, Reading
from gateway.service import Service, StopPhase
from gateway.settings_store import SettingsStore
from rules.config import MODES, Period, Site, Slot, ZoneSpec, site_from_config
from rules.types import (
    Booking,
    Decision,
    InputState,
    LightOverride,
    Memory,
    RelayState,
    SensorValue,
    State,
    memory_from_json,
    memory_to_json,
    shift_memory,
)

log = logging.getLogger("gateway.control")

#: Default rules tick (the product brief: about 30 s).
TICK_S = 30.0
#: At start, readings do not trigger evaluations for this long (the first tick or edit still does).
STARTUP_GRACE_S = 30.0
#: Engine memory is written to the SD card at most this often (and on stop).
MEMORY_SAVE_S = 300.0
#: Failed evaluations in a row before the heating outputs are driven to their safe level.
RULES_FAIL_LIMIT = 2


def bank_from_config(config: Any, pin_factory: Any) -> GpioBank:
    """The GPIO bank of ``[gpio]`` on ``pin_factory``."""
    relays = [
        RelaySpec(name, r.pin, active_high=r.active_high, boot_on=r.boot == "on")
        for name, r in config.gpio.relays.items()
    ]
    inputs = [
        InputSpec(
            name,
            i.pin,
            kind=i.kind,
            pull=i.pull,
            active_high=i.active_high,
            debounce_s=i.debounce_ms / 1000.0,
            max_rate_hz=i.max_pulse_rate_hz,
        )
        for name, i in config.gpio.inputs.items()
    ]
    return GpioBank(relays=relays, inputs=inputs, pin_factory=pin_factory)


def claim_outputs(config: Any, options: Any) -> GpioBank | None:
    """Claim every relay at its declared boot state: the first thing ``Daemon.build()`` does.

    Before the journal, the archive, the settings store or any heavy import (so a start that fails
    later still leaves the relays safe). The bank is kept in ``options.extras["gpio_bank"]`` and
    reused by :func:`build`; ``None`` when nothing is wired.
    """
    extras = options.extras
    bank = extras.get("gpio_bank")
    if bank is not None:
        return bank  # type: ignore[no-any-return]
    if not (config.gpio.relays or config.gpio.inputs):
        return None
    bank = bank_from_config(config, _pin_factory(options))
    bank.prepare()
    extras["gpio_bank"] = bank
    return bank


def effective_site(config: Any, store: SettingsStore) -> Site:
    """The configured site with the schedule edits of the settings store layered over it."""
    site = site_from_config(config)
    weeks = store.weeks()
    extra: dict[str, list[Period]] = {}
    for subject, exc in store.all_exceptions():
        slots = tuple(Slot.model_validate(s) for s in slots_from_periods(exc.periods))
        extra.setdefault(subject, []).append(
            Period(name=exc.label or f"exception {exc.id}", start=exc.start, end=exc.end, schedule=slots)
        )
    if not weeks and not extra:
        return site
    zones: list[ZoneSpec] = []
    for zone in site.zones:
        update: dict[str, Any] = {}
        if zone.key in weeks:
            update["schedule"] = tuple(Slot.model_validate(s) for s in slots_from_periods(weeks[zone.key]))
        if zone.key in extra:
            update["exceptions"] = (*zone.heating.exceptions, *extra[zone.key])
        zones.append(zone.model_copy(update={"heating": zone.heating.model_copy(update=update)}) if update else zone)
    return site.model_copy(update={"zones": tuple(zones)})


class ControlService:
    """Boot states, the rules tick, relays re-asserted, edges bridged, the façade fed."""

    name = "control"
    stop_phase = StopPhase.PRODUCER

    def __init__(
        self,
        *,
        config: Any,
        core: Any,
        bank: GpioBank,
        store: SettingsStore,
        control: Control,
        tick_s: float = TICK_S,
        startup_grace_s: float = 0.0,
        lang: str = "fr",
        guard: ClockGuard | None = None,
    ) -> None:
        self.config = config
        self.core = core
        self.bank = bank
        self.store = store
        self.control = control
        self.tick_s = tick_s
        self.startup_grace_s = startup_grace_s
        self._grace_until = 0.0
        self.lang = lang
        self.clock = core.clock
        self.evaluations = 0
        self.last_decision: Decision | None = None
        self._site: Site | None = None
        self._site_version = -1
        self._memory: Memory = Memory()
        self._memory_text = ""
        self._memory_saved_at = -math.inf
        self._save_lock = threading.Lock()
        self._save_seq = 0
        self._saved_seq = 0
        self._relay_since: dict[str, int] = {}
        self._commanded: dict[str, bool] = {}
        self._failing: set[str] = set()
        #: rules failures: failed evaluations in a row, the monotonic time of the last good one, and
        #: whether the heating outputs are held at their safe level (one episode: one event, one traceback)
        self._fail_streak = 0
        self._last_good = self.clock.monotonic()
        self.last_tick_at = self.clock.monotonic()  # monotonic time of the latest tick (liveness)
        self.rules_failing = False
        self._bad_rows: set[str] = set()  # settings rows skipped (logged and raised once each)
        self._inputs: dict[str, InputState] = {}
        self._pulse_base: dict[str, float] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending = False
        self._relevant = self._relevant_devices()
        #: water meters (Modbus devices counting m³): their flow for the overview
        self._water = frozenset(
            d.id for bus in config.buses.values() for d in getattr(bus, "devices", ()) if d.quantity == "water_m3"
        )
        self._flows = CounterRate()
        if self._water:
            core.on_reading(self._on_counter)
        self._relay_tags = {
            name: core.tags(device=name, building=r.building, zone=r.zone) for name, r in config.gpio.relays.items()
        }
        self._input_tags = {
            name: core.tags(device=name, building=i.building, zone=i.zone) for name, i in config.gpio.inputs.items()
        }
        self._names = {
            f"{b}/{z}": (building.name, zone.name)
            for b, building in config.buildings.items()
            for z, zone in building.zones.items()
        }
        self.guard = guard
        self._offset_ns: int | None = None  # wall - monotonic at the last evaluation (step watch)
        #: readings measured before a clock step: (device, field) -> (stamp as stored, stamp shifted)
        self._moved_readings: dict[tuple[str, str], tuple[int, int]] = {}
        #: the latest value of each field of the devices the rules use, by arrival
        self._latest: dict[tuple[str, str], SensorValue] = {}
        if guard is not None:
            guard.add_step_listener(self.on_clock_step)

    # ---- boot ---------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Relays to their boot state, first of all; then restore the memory."""
        self.bank.prepare()
        saved = self.store.load_memory("shell") or {}
        levels = saved.get("relay_on", {})
        now_ns = self.clock.time_ns()
        for name, since in saved.get("relay_since", {}).items():
            if name not in self.bank.relay_specs:
                continue
            # the last switch time still holds if the boot state left the relay as it was;
            # otherwise the boot itself was a switch (minimum on/off times count from now)
            same = levels.get(name) == self.bank.get(name)
            self._relay_since[name] = int(since) if same else now_ns
        for name, on in self.bank.relay_states().items():
            # a relay on at boot with no memory (boot = "on", lost settings): its run counts from
            # now, so the maximum run time applies (an off one may switch on at once, as at a first start)
            if on:
                self._relay_since.setdefault(name, now_ns)
        self._pulse_base = {k: float(v) for k, v in saved.get("pulses", {}).items()}
        engine = self.store.load_memory("engine")
        self._memory = memory_from_json(None if engine is None else json.dumps(engine))
        self._memory_text = memory_to_json(self._memory)

    def _relevant_devices(self) -> frozenset[str]:
        devices: set[str] = set()
        for building in self.config.buildings.values():
            for zone in building.zones.values():
                if zone.heating is not None:
                    devices.update(zone.heating.sensors)
                    if zone.heating.outdoor_sensor:
                        devices.add(zone.heating.outdoor_sensor)
        devices.update(self.config.leaks.meters)
        return frozenset(devices)

    # ---- run ----------------------------------------------------------------------------------
    async def run(self) -> None:
        """Tick until cancelled; changes trigger evaluations in between."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self.bank.attach(loop, self._on_edge)
        now_ns = self.clock.time_ns()
        for name in self.bank.input_specs:
            # at start nobody knows when an input last changed: an active one (window open, someone
            # there) counts from now, an inactive one from long ago (no presence hold after a reboot)
            active = self.bank.input_active(name)
            self._inputs[name] = InputState(active, now_ns if active else 0)
        self.control.attach(loop, self.evaluate)
        self.core.on_reading(self._on_reading)
        # start-up grace: the relays stay at their (safe) boot state while the sensors report for the
        # first time, so the first evaluation does not see every zone "stale" (a fail-safe cycle and
        # a warning per zone at every restart); edges and edits still evaluate at once
        self._grace_until = loop.time() + self.startup_grace_s
        if self.startup_grace_s > 0:
            loop.call_later(self.startup_grace_s, self.evaluate, "start")
        else:
            self.evaluate("start")
        try:
            await self._tick_forever()
        finally:
            self.control.detach()
            self._loop = None
            self.release_to_boot_state()
            with contextlib.suppress(Exception):
                self._save_memory(force=True)

    async def _tick_forever(self) -> None:
        """Evaluate every ``tick_s`` of the clock's monotonic time until cancelled; never returns.

        Missed ticks are not caught up (one evaluation, then the period again: level-triggered
        control needs no replay). A tick whose failure handling itself fails still tries the safe levels.
        """
        next_at = self.clock.monotonic() + self.tick_s
        while True:
            await monotonic_sleep(self.clock, next_at - self.clock.monotonic())
            now = self.clock.monotonic()
            next_at += self.tick_s
            if next_at <= now:
                next_at = now + self.tick_s
            self.last_tick_at = now
            try:
                self.tick()
            except Exception:  # evaluate() handles the rules' failures; this is its own handling failing
                log.exception("rules tick failed; driving the safe levels")
                with contextlib.suppress(Exception):
                    self._drive_safe()

    def tick(self) -> None:
        """One tick of the rules (the tick task's; tests may call it directly)."""
        self.evaluate("tick")

    def tick_health(self) -> str | None:
        """Health check for the watchdog: the tick has come within three periods (``None``: healthy)."""
        late = self.clock.monotonic() - self.last_tick_at
        if late <= 3 * self.tick_s + self.startup_grace_s:
            return None
        return f"no rules tick for {late:.0f} s (every {self.tick_s:.0f} s expected)"

    # ---- triggers -----------------------------------------------------------------------------
    def _on_reading(self, reading: Reading) -> None:
        """Core listener (loop thread): a reading the rules use triggers one coalesced evaluation."""
        if reading.measurement in {"relay", "event", "input"}:
            return
        device = reading.tag("device") or ""
        if device not in self._relevant:
            return
        for name, value in reading.fields:
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                # by arrival, not by stamp: after a backward clock step the state store keeps the
                # older-stamped-later sample, while the newest measurement is this one
                self._latest[(device, name)] = SensorValue(float(value), reading.time_ns)
        if self._loop is not None and self._loop.time() < self._grace_until:
            return  # still gathering the first readings (see run())
        self.request_evaluation()

    def _on_counter(self, reading: Reading) -> None:
        """Core listener (loop thread): water counters, for their flow on the overview."""
        device = reading.tag("device") or ""
        if device in self._water:
            value = dict(reading.fields).get("water_m3")
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                self._flows.add(device, float(value), reading.time_ns)

    def request_evaluation(self) -> None:
        """Evaluate soon (once, however many changes arrive in this loop iteration)."""
        if self._pending or self._loop is None:
            return
        self._pending = True
        self._loop.call_soon(self._deferred)

    def _deferred(self) -> None:
        self._pending = False
        self.evaluate("change")

    def _on_edge(self, edge: Edge) -> None:
        """An input edge (already in the loop thread): record it, journal it, evaluate at once."""
        self._watch_step()  # a step since the last evaluation shifts the old stamps, not this one
        now_ns = self.clock.time_ns()
        spec = self.config.gpio.inputs[edge.input]
        if edge.kind == "pulse":
            if not edge.active:
                return
            total = self._pulse_base.get(edge.input, 0.0) + edge.count * spec.scale
            self._publish("input", self._input_tags[edge.input], {spec.quantity or "pulses": total}, now_ns)
            return
        self._inputs[edge.input] = InputState(edge.active, now_ns)
        field = "motion" if edge.kind == "motion" else "open"
        self._publish("input", self._input_tags[edge.input], {field: edge.active}, now_ns)
        self.evaluate(f"input {edge.input}")

    # ---- one evaluation -----------------------------------------------------------------------
    def evaluate(self, trigger: str = "change") -> Decision | None:
        """Decide at ``now`` and apply: relays re-asserted, events raised, memory kept. Never raises:
        a failure anywhere in it counts towards the safe levels (:meth:`_rules_failed`)."""
        try:
            return self._evaluate(trigger)
        except Exception:
            self._rules_failed(trigger)
            return None

    def _evaluate(self, trigger: str) -> Decision:
        from rules.engine import decide

        trusted = self.clock_trusted()
        now = self.clock.now()
        site = self._current_site()
        state = replace(self.state_at(now), clock_trusted=trusted)
        decision = decide(site, state, now)
        self.evaluations += 1
        self.core.metrics.inc("gateway_rules_evaluations_total")
        self._apply(decision)
        for event in decision.events(self.lang):
            self.core.raise_event(event)
        self._rules_recovered()  # a good evaluation is one whose outputs and events went through
        self._memory = decision.memory
        self.last_decision = decision
        self._save_memory()
        self.control.publish(self._view(decision, now))
        if trigger == "tick":  # once per tick, not per change: a regular sample for the hourly duty
            self._publish_zones(decision)
        return decision

    # ---- failures: safe levels, one episode at a time ------------------------------------------
    def _rules_failed(self, trigger: str) -> None:
        """An evaluation raised: counted; after RULES_FAIL_LIMIT in a row (or no good evaluation
        for two ticks) the heating outputs go to their safe level, re-asserted at every failure."""
        self.core.metrics.inc("gateway_rules_errors_total")
        self._fail_streak += 1
        stale = self.clock.monotonic() - self._last_good > 2 * self.tick_s
        if self._fail_streak < RULES_FAIL_LIMIT and not stale:
            log.warning("rules evaluation failed (%s); relays keep their state until the next try", trigger)
            return
        if not self.rules_failing:
            self.rules_failing = True
            log.exception(
                "rules evaluation failed %d times in a row (%s): heating outputs held at their safe level"
                " until the rules work again",
                self._fail_streak,
                trigger,
            )
            self.core.metrics.set("gateway_rules_ok", 0)
            self.control.rules_ok = False
            self._raise(
                "rules_failed",
                "alarm",
                "Les règles ne s'évaluent plus : chauffage coupé (hors-gel pour le fil pilote), éclairage à "
                "son état de démarrage ; voir le journal du service",
            )
            self._republish_alerts()
        self._drive_safe()

    def _rules_recovered(self) -> None:
        self._fail_streak = 0
        self._last_good = self.clock.monotonic()
        if not self.rules_failing:
            return
        self.rules_failing = False
        self.core.metrics.set("gateway_rules_ok", 1)
        self.control.rules_ok = True
        log.info("rules evaluate again: control resumed")
        self._raise("rules_failed_end", "info", "Les règles s'évaluent de nouveau : contrôle normal")

    def safe_levels(self) -> dict[str, bool]:
        """The level each output takes while the rules cannot run (docs/control.md, "Safe by default").

        A heater relay: off. A pilot-wire pair: the hors-gel order (minus only), so convectors keep
        the building above freezing on their own thermostat. A lighting circuit: its boot state.
        A leak valve: left as it is (closing or opening water without the rules is no safer).
        """
        levels: dict[str, bool] = {}
        for building in self.config.buildings.values():
            for zone in building.zones.values():
                heating = zone.heating
                if heating is None:
                    continue
                if heating.pilot_wire is not None:
                    levels[heating.pilot_wire.plus] = False
                    levels[heating.pilot_wire.minus] = True
                elif heating.relay:
                    levels[heating.relay] = False
        for circuit in self.config.lighting.circuits.values():
            spec = self.bank.relay_specs.get(circuit.relay)
            if spec is not None:
                levels[circuit.relay] = spec.boot_on
        return {name: on for name, on in levels.items() if name in self.bank.relay_specs}

    def _drive_safe(self) -> None:
        now_ns = self.clock.time_ns()
        for name, on in self.safe_levels().items():
            try:
                if not self.bank.set(name, on):
                    continue
            except Exception as exc:
                self.core.metrics.inc("gateway_relay_errors_total", relay=name)
                if name not in self._failing:
                    self._failing.add(name)
                    log.error("relay %s cannot be driven: %s", name, exc)
                continue
            self._commanded[name] = on
            self._relay_since[name] = now_ns
            self.core.metrics.inc("gateway_relay_switches_total", relay=name)
            reason = "niveau de sécurité : les règles ne s'évaluent plus"
            log.info("relay %s %s: %s", name, "on" if on else "off", reason)
            self._publish("relay", self._relay_tags[name], {"on": on, "reason": reason}, now_ns)

    def release_to_boot_state(self) -> None:
        """On shutdown: every relay back to its declared boot state before gpiozero closes the pins
        (a closed pin floats; the board's pull resistor holds the safe level, docs/control.md)."""
        for name, spec in self.bank.relay_specs.items():
            try:
                changed = self.bank.set(name, spec.boot_on)
            except Exception as exc:  # a pin not claimed or not drivable: nothing more to do here
                log.error("relay %s not set to its boot state at shutdown: %s", name, exc)
                continue
            if changed:
                self._relay_since[name] = self.clock.time_ns()
                log.info("relay %s %s: shutdown, boot state", name, "on" if spec.boot_on else "off")

    def _raise(self, kind: str, severity: Any, message: str, subject: str = "rules") -> None:
        try:
            self.core.raise_event(Event(kind, subject, message, self.clock.time_ns(), severity))
        except Exception as exc:  # an event that cannot be made must not stop the safe levels
            log.error("event %s not raised: %s", kind, exc)

    def _republish_alerts(self) -> None:
        """Rules failing: the façade's last view gets the new alarm (the overview, /health)."""
        latest = self.control.latest
        if latest is None or self.last_decision is None:
            return
        self.control.publish(replace(latest, alerts=self._alerts(self.last_decision)))

    def _publish_zones(self, decision: Decision) -> None:
        """Each heated zone's target, heater state and mode (measurement ``climate``, tagged with the
        zone; device ``building/zone``, which no configured device can be called): sampled every tick,
        the archive's hourly mean of ``heater_on`` (0/1) is the heater's duty fraction."""
        for z in decision.zones:
            building, zone = z.zone.split("/", 1)
            fields: dict[str, Any] = {"heater_on": bool(z.heating), "mode": str(z.mode)}
            if z.target_c is not None and math.isfinite(z.target_c):
                fields["target_c"] = float(z.target_c)
            tags = self.core.tags(device=z.zone, building=building, zone=zone)
            self._publish("climate", tags, fields, decision.now_ns)

    # ---- time on a Pi without RTC --------------------------------------------------------------
    def clock_trusted(self) -> bool:
        """Whether ``now`` may drive schedules (the clock guard's verdict; no guard: trusted).

        A wall-clock step since the last evaluation is looked for first (wall minus monotonic
        time moved): the guard is asked to check at once, so its step listeners (ours among
        them) shift the stamps *before* this evaluation rather than at its next periodic check.
        """
        if self.guard is None:
            return True
        self._watch_step()
        return self.guard.status.trusted

    def _watch_step(self) -> None:
        if self.guard is None:
            return
        offset = self.clock.time_ns() - int(self.clock.monotonic() * 1e9)
        previous, self._offset_ns = self._offset_ns, offset
        threshold = int(self.guard.policy.step_threshold_s * 1e9)
        if previous is not None and abs(offset - previous) >= threshold:
            self.guard.check()  # observes the step and calls on_clock_step

    def on_clock_step(self, step_s: float) -> None:
        """The wall clock stepped by ``step_s``: move every wall-time stamp held here by as much.

        Relay switch times and input changes happened before the step; readings measured before
        it are recognised by their stamp moving closer to the new ``now`` when shifted (one
        measured after the step would move away). The scheduled times (bookings, schedules) are
        wall time themselves and do not move.
        """
        step_ns = round(step_s * 1e9)
        now_ns = self.clock.time_ns()
        self._offset_ns = now_ns - int(self.clock.monotonic() * 1e9)
        self._relay_since = {name: since + step_ns for name, since in self._relay_since.items()}
        self._inputs = {
            name: InputState(i.active, _closer(i.since_ns, step_ns, now_ns)) if i.since_ns else i
            for name, i in self._inputs.items()
        }
        self._memory = shift_memory(self._memory, step_ns)
        for key, sample in self.core.state.snapshot().samples.items():
            moved = _closer(sample.time_ns, step_ns, now_ns)
            if moved != sample.time_ns:
                self._moved_readings[key] = (sample.time_ns, moved)
        self._latest = {
            key: SensorValue(v.value, _closer(v.time_ns, step_ns, now_ns)) for key, v in self._latest.items()
        }
        log.info("clock stepped %+.0f s: relay, input and memory times shifted by as much", step_s)
        self.request_evaluation()

    def _current_site(self) -> Site:
        if self._site is None or self._site_version != self.store.version:
            self._site = effective_site(self.config, self.store)
            self._site_version = self.store.version
        return self._site

    def state_at(self, now: datetime) -> State:
        """The rules' input at ``now``: state store, pins, overrides, memory."""
        snapshot = self.core.state.snapshot()
        readings: dict[tuple[str, str], SensorValue] = {}
        for key, sample in snapshot.samples.items():
            value = sample.value
            time_ns = sample.time_ns
            moved = self._moved_readings.get(key)
            if moved is not None:
                if moved[0] == time_ns:
                    time_ns = moved[1]  # measured before a clock step
                else:
                    del self._moved_readings[key]  # a newer reading replaced it
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                readings[key] = SensorValue(float(value), time_ns)
        readings.update(self._latest)
        relays = {name: RelayState(on, self._relay_since.get(name)) for name, on in self.bank.relay_states().items()}
        overrides = self.store.active_overrides(now)
        site = self._current_site()
        bookings: list[Booking] = []
        lights: list[LightOverride] = []
        for o in overrides:
            try:
                if o.kind == "zone":
                    booking = _booking(site, o)
                    if booking is not None:
                        bookings.append(booking)
                elif o.kind == "lighting" and o.on is not None:
                    lights.append(LightOverride(o.subject, _ns(o.start), _ns(o.end), bool(o.on), o.label))
            except Exception as exc:  # a row the rules cannot use (edited by hand, a bug): skipped
                self._skip_row(o, exc)
        acks = self.store.leak_acks()
        return State(
            readings=MappingProxyType(readings),
            inputs=MappingProxyType(dict(self._inputs)),
            relays=MappingProxyType(relays),
            bookings=tuple(bookings),
            light_overrides=tuple(lights),
            leak_acks=MappingProxyType(acks),
            memory=self._memory,
        )

    def _skip_row(self, override: Any, exc: Exception) -> None:
        """A settings row the rules cannot use: skipped, counted; logged and raised once per row."""
        self.core.metrics.inc("gateway_settings_rows_skipped_total")
        key = f"override {getattr(override, 'id', '?')}"
        if key in self._bad_rows:
            return
        self._bad_rows.add(key)
        log.error("%s (%s) skipped: %s", key, getattr(override, "subject", "?"), exc)
        self._raise(
            "settings_row_invalid",
            "warning",
            f"Réservation/dérogation {getattr(override, 'id', '?')} ignorée : {exc}",
            subject=str(getattr(override, "subject", "") or "settings"),
        )

    def _apply(self, decision: Decision) -> None:
        """Re-assert every action's level on its relay; journal and log each change."""
        now_ns = self.clock.time_ns()
        for action in decision.actions:
            name = action.output
            if name not in self.bank.relay_specs:
                continue
            actual = self.bank.get(name)
            commanded = self._commanded.get(name)
            if actual == action.on:
                self._commanded[name] = action.on
                if actual:  # on (by hand, boot state) with no known switch time: its run counts
                    self._relay_since.setdefault(name, now_ns)  # from now (maximum run, minimum on)
                continue
            reason = action.reason.text(self.lang)
            if commanded is not None and commanded != actual:
                self.core.metrics.inc("gateway_relay_putback_total", relay=name)
                reason = f"{reason} (remis en place : changé hors du contrôle)"
                log.warning("relay %s was %s behind the daemon's back; put back", name, "on" if actual else "off")
            try:
                self.bank.set(name, action.on)
            except Exception as exc:
                self.core.metrics.inc("gateway_relay_errors_total", relay=name)
                if name not in self._failing:  # once per episode, not once per evaluation
                    self._failing.add(name)
                    log.error("relay %s cannot be driven: %s", name, exc)
                continue
            if name in self._failing:
                self._failing.discard(name)
                log.info("relay %s can be driven again", name)
            self._commanded[name] = action.on
            self._relay_since[name] = now_ns
            self.core.metrics.inc("gateway_relay_switches_total", relay=name)
            log.info("relay %s %s: %s", name, "on" if action.on else "off", reason)
            self._publish("relay", self._relay_tags[name], {"on": action.on, "reason": reason}, now_ns)

    def _publish(self, measurement: str, tags: Mapping[str, str], fields: dict[str, Any], now_ns: int) -> None:
        try:
            reading = Reading.make(measurement, tags, fields, time_ns=now_ns)
        except ValueError as exc:  # clock not set on a Pi without RTC: the relay still switches
            log.warning("%s point not journaled: %s", measurement, exc)
            return
        self.core.publish(reading)

    def _save_memory(self, *, force: bool = False) -> None:
        text = memory_to_json(self._memory)
        mono = time.monotonic()
        if not force and (text == self._memory_text or mono - self._memory_saved_at < MEMORY_SAVE_S):
            return
        pulses = {
            name: self._pulse_base.get(name, 0.0) + self.bank.pulse_count(name) * self.config.gpio.inputs[name].scale
            for name in self.bank.input_names("pulse")
        }
        shell = {"relay_since": dict(self._relay_since), "relay_on": self.bank.relay_states(), "pulses": pulses}
        engine = json.loads(text)
        self._memory_text = text
        self._memory_saved_at = mono

        self._save_seq += 1
        seq = self._save_seq

        def write() -> None:
            with self._save_lock:  # an older save that ran late must not overwrite a newer one
                if seq < self._saved_seq:
                    return
                self._saved_seq = seq
                self.store.save_memory(engine, "engine")
                self.store.save_memory(shell, "shell")

        if force or self._loop is None:
            write()
        else:  # the fsync of a synchronous=FULL commit must not hold the loop (edge latency)
            self._loop.run_in_executor(None, write).add_done_callback(_log_failure)

    # ---- the façade's view --------------------------------------------------------------------
    def _view(self, decision: Decision, now: datetime) -> Evaluation:
        relays = self.bank.relay_states()
        snapshot = self.core.state.snapshot()
        zones: list[ZoneStatus] = []
        site = self._site
        for z in decision.zones:
            building, zone = z.zone.split("/", 1)
            spec = site.zone(z.zone) if site else None
            sensors = spec.heating.sensors if spec else []
            times = [s.time_ns for d in sensors if (s := snapshot.value(d, "temperature_c")) is not None]
            newest = max(times, default=None)
            stale_s = spec.heating.failsafe.stale_after_min * 60 if spec else 900
            contacts = spec.heating.window.contacts if spec else []
            window = any(self._inputs.get(c, InputState(False, 0)).active for c in contacts)
            memory = decision.memory.zones.get(z.zone)
            outputs = tuple((o, relays.get(o, False)) for o in (spec.heating.outputs if spec else ()))
            names = self._names.get(z.zone, (building, zone))
            zones.append(
                ZoneStatus(
                    building=building,
                    building_name=names[0],
                    zone=zone,
                    name=names[1],
                    temperature_c=z.measured_c,
                    temperature_time=_dt(newest),
                    stale=newest is None or (decision.now_ns - newest) / 1e9 > stale_s,
                    target_c=z.target_c,
                    mode=z.mode,
                    heater_on=z.heating,
                    window_open=window or bool(memory and memory.window_open_since_ns),
                    reason=z.reason.text(self.lang),
                    outputs=outputs,
                    reason_detail=z.reason,
                )
            )
        circuits = []
        for c in decision.circuits:
            cfg = self.config.lighting.circuits.get(c.circuit)
            sunrise, sunset = _sun_times(self.config.site, now)
            circuits.append(
                CircuitStatus(
                    circuit=c.circuit,
                    name=(cfg.name if cfg and cfg.name else c.circuit),
                    building=None,
                    on=relays.get(cfg.relay, c.on) if cfg else c.on,
                    reason=c.reason.text(self.lang),
                    reason_detail=c.reason,
                    sunrise=sunrise,
                    sunset=sunset,
                )
            )
        return Evaluation(
            at=now,
            zones=tuple(zones),
            circuits=tuple(circuits),
            alerts=self._alerts(decision),
            meter_flows=MappingProxyType(self._flows.rates(decision.now_ns)),
        )

    def _alerts(self, decision: Decision) -> tuple[Alert, ...]:
        """The latest warning/alarm per (kind, subject) of the last 24 h not resolved since."""
        latest: dict[tuple[str, str], Any] = {}
        horizon = decision.now_ns - 24 * 3600 * 1_000_000_000
        for event in list(self.core.recent_events):
            if event.time_ns >= horizon:
                latest[(event.kind, event.subject)] = event
        out = []
        for (kind, subject), event in latest.items():
            if event.severity == "info":
                continue
            ended = latest.get((f"{kind}_end", subject))
            if ended is not None and ended.time_ns >= event.time_ns:  # resolved since
                continue
            out.append(Alert(_dt(event.time_ns) or datetime.now(UTC), kind, subject, event.message, event.severity))
        return tuple(sorted(out, key=lambda a: a.time, reverse=True))


def _booking(site: Site, override: Any) -> Booking | None:
    """A zone override as the rules' booking: its mode, or its setpoint (and the mode that fits it).

    Raises ``ValueError`` (or anything else a hand-edited row provokes) for a row the rules cannot use."""
    setpoint = getattr(override, "setpoint_c", None)
    mode = override.mode
    if mode is None and setpoint is not None:
        zone = site.zone(override.subject)
        if zone is None:
            return None
        mode = zone.heating.setpoints.mode_for(setpoint)
    if mode is None:
        return None
    if mode not in MODES:  # Booking does not check it, and the engine would fail on it
        raise ValueError(f"unknown mode {mode!r} (one of {', '.join(MODES)})")
    return Booking(override.subject, _ns(override.start), _ns(override.end), mode, override.label, setpoint)


def _closer(stamp_ns: int, step_ns: int, now_ns: int) -> int:
    """``stamp_ns`` shifted by ``step_ns`` if that brings it closer to ``now`` (it predates the step)."""
    moved = stamp_ns + step_ns
    return moved if abs(now_ns - moved) < abs(now_ns - stamp_ns) else stamp_ns


def _log_failure(future: Any) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("engine memory could not be saved: %s", exc)


_SUN_CACHE: dict[tuple[float, float, str], tuple[datetime | None, datetime | None]] = {}


def _sun_times(site: Any, now: datetime) -> tuple[datetime | None, datetime | None]:
    """Today's sunrise and sunset at the site (astral), cached per local day."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(site.timezone)
    day = now.astimezone(tz).date()
    key = (site.latitude, site.longitude, day.isoformat())
    if key not in _SUN_CACHE:
        from astral import LocationInfo
        from astral.sun import sun

        try:
            times = sun(
                LocationInfo("", "", site.timezone, site.latitude, site.longitude).observer,
                date=day,
                tzinfo=tz,
            )
            _SUN_CACHE[key] = (times["sunrise"], times["sunset"])
        except ValueError:  # polar day or night
            _SUN_CACHE[key] = (None, None)
        if len(_SUN_CACHE) > 8:
            _SUN_CACHE.pop(next(iter(_SUN_CACHE)))
    return _SUN_CACHE[key]


def _ns(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000) * 1000


def _dt(time_ns: int | None) -> datetime | None:
    return None if time_ns is None else datetime.fromtimestamp(time_ns / 1e9, UTC)


def _pin_factory(options: Any) -> Any:
    factory = getattr(options, "pin_factory", None)
    if factory is None and getattr(options, "demo", False):
        from gpiozero.pins.mock import MockFactory

        factory = MockFactory()
        options.pin_factory = factory  # the demo's plant and tests reach the same pins
    return factory


METRICS = {
    "gateway_rules_evaluations_total": "rules evaluations (ticks, changes, edits)",
    "gateway_rules_errors_total": "rules evaluations that failed (relays kept their state)",
    "gateway_relay_switches_total": "relay changes driven by the rules",
    "gateway_relay_putback_total": "relays found changed behind the daemon's back and put back",
    "gateway_relay_errors_total": "relay writes that failed",
    "gateway_settings_rows_skipped_total": "settings rows (overrides) the rules could not use, per evaluation",
    "gateway_gpio_implausible_pulses_total": "pulses faster than their input's rise_per_hour (never journaled)",
}


def build(config: Any, core: Any, options: Any) -> list[Service]:
    """The control service (and, in the demo, the simulated plant); the façade in ``options.extras``."""
    for name, help_text in METRICS.items():
        core.metrics.describe(name, "counter", help_text)
    core.metrics.describe("gateway_rules_ok", "gauge", "1 while the rules evaluate, 0 while outputs are held safe")
    core.metrics.set("gateway_rules_ok", 1)
    store = SettingsStore.open(config.service.state_dir / "settings.sqlite", now=core.clock.now())
    if store.recovered:
        log.error("%s", store.recovered)
        with contextlib.suppress(Exception):
            core.raise_event(Event("settings_reset", "settings", store.recovered, core.clock.time_ns(), "alarm"))
    control = Control(config=config, store=store, now=core.clock.now, state=core.state)
    extras = getattr(options, "extras", None)
    if extras is None:
        extras = {}
    bank = claim_outputs(config, options) if isinstance(getattr(options, "extras", None), dict) else None
    if bank is None:  # nothing wired (or options without extras): an empty bank
        has_gpio = bool(config.gpio.relays or config.gpio.inputs)
        bank = bank_from_config(config, _pin_factory(options) if has_gpio else None)
    bank.count_with(core.metrics.inc)
    tick_s = float(extras.get("control_tick_s", TICK_S))
    grace = float(extras.get("control_startup_grace_s", min(STARTUP_GRACE_S, tick_s)))
    # the daemon's one clock guard (the system service checks it periodically; whoever builds first
    # creates it): the rules run in safe modes while the clock is not trusted
    guard = guard_for(config, core, options) if isinstance(getattr(options, "extras", None), dict) else None
    service = ControlService(
        config=config,
        core=core,
        bank=bank,
        store=store,
        control=control,
        tick_s=tick_s,
        startup_grace_s=grace,
        guard=guard,
    )
    extras["control"] = control
    extras["control_service"] = service
    if isinstance(getattr(options, "extras", None), dict):
        from gateway.services.system import add_health_check

        add_health_check(options, "rules tick", service.tick_health)
    services: list[Service] = [service]
    if getattr(options, "demo", False) or extras.get("plant"):
        from gateway.plant import build_plant

        services.extend(build_plant(config, core, options, service))
    return services
