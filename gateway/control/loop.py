"""The control loop: triggers -> evaluate -> apply, every tick and at once on every relevant change.

Rules of this module (the parts it drives live beside it, one concern each):
- the rules run every ``tick_s`` (~30 s) of *monotonic* time, whatever the wall clock does (a step
  back of an hour must not stop them for an hour: the stale-sensor fail-safe and the safe levels
  depend on this tick), and at once on every relevant change: a temperature or counter reading of a
  device the rules use, an input edge, an edit through the façade. The tick is the service's own
  task in the daemon's TaskGroup (no scheduler that could stop on its own); an evaluation that
  raises is counted and handled (:mod:`gateway.control.safety`), never ends it, and a tick that
  stops coming makes the daemon unhealthy (the watchdog stops, systemd restarts). Evaluations are
  synchronous and short (``decide`` is pure), in the loop;
- one evaluation: :mod:`~gateway.control.inputs` builds the rules' state, ``rules.engine.decide``
  decides, :mod:`~gateway.control.outputs` re-asserts every relay, the decision's notices become
  events, :mod:`~gateway.control.memory` keeps the engine memory, :mod:`~gateway.control.status`
  builds the view the façade publishes;
- time on a Pi without RTC (:mod:`gateway.control.clock_steps`): every evaluation passes
  ``clock_trusted``; when the wall clock steps, every wall-time stamp held here moves by the step,
  so minimum on/off and maximum run times keep their true length and nothing is replayed or skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from drivers.gpio import Edge, GpioBank
from gateway.clock import sleep as monotonic_sleep
from gateway.clock_guard import ClockGuard
from gateway.control.clock_steps import StepWatch
from gateway.control.facade import Control
from gateway.control.inputs import Inputs
from gateway.control.memory import MemoryKeeper
from gateway.control.outputs import Outputs, journal_point
from gateway.control.safety import FailureEpisodes, safe_levels
from gateway.control.settings_store import SettingsStore
from gateway.control.status import StatusBuilder
from gateway.model import Event, Reading
from gateway.service import StopPhase
from rules import engine
from rules.types import Decision, RelayState, State

if TYPE_CHECKING:
    from gateway.config import GatewayConfig
    from gateway.core import Core


log = logging.getLogger("gateway.control")

#: Default rules tick (the product brief: about 30 s).
TICK_S = 30.0
#: At start, readings do not trigger evaluations for this long (the first tick or edit still does).
STARTUP_GRACE_S = 30.0


class ControlService:
    """Boot states, the rules tick, relays re-asserted, edges bridged, the façade fed."""

    name = "control"
    stop_phase = StopPhase.PRODUCER

    def __init__(
        self,
        *,
        config: GatewayConfig,
        core: Core,
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
        #: the rules tick and the start-up grace, in seconds of monotonic time
        self.tick_s, self.startup_grace_s = tick_s, startup_grace_s
        self.store = store
        self.control = control
        self.guard = guard
        self.lang = lang
        self.clock = core.clock
        # the parts, one concern each (see the module docstring)
        self.outputs = Outputs(config=config, core=core, bank=bank, lang=lang)
        self.inputs = Inputs(config=config, core=core, store=store, raise_event=self._raise, lang=lang)
        self.memory = MemoryKeeper(
            store=store, bank=bank, pulse_scale={name: i.scale for name, i in config.gpio.inputs.items()}
        )
        self.episodes = FailureEpisodes(
            clock=self.clock,
            metrics=core.metrics,
            tick_s=tick_s,
            on_change=self._rules_ok,
            raise_event=lambda kind, severity, message: self._raise(kind, severity, message, "rules"),
            lang=lang,
        )
        self.steps = StepWatch(self.clock, guard)
        self.status = StatusBuilder(config=config, core=core, bank=bank, lang=lang)
        self._input_tags = {
            name: core.tags(device=name, building=i.building, zone=i.zone) for name, i in config.gpio.inputs.items()
        }
        # what the loop itself keeps
        self.evaluations = 0
        self.last_decision: Decision | None = None
        self.last_tick_at = self.clock.monotonic()  # monotonic time of the latest tick (liveness)
        self._grace_until = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending = False
        if self.inputs.water:
            core.on_reading(self.inputs.counter)
        if guard is not None:
            guard.add_step_listener(self.on_clock_step)

    @property
    def rules_failing(self) -> bool:
        """Whether the heating outputs are held at their safe level (the rules fail)."""
        return self.episodes.failing

    # ---- boot ---------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Relays to their boot state, first of all; then restore the memory."""
        self.bank.prepare()
        saved = self.memory.load()
        self.outputs.restore(saved, self.clock.time_ns())

    # ---- run ----------------------------------------------------------------------------------
    async def run(self) -> None:
        """Tick until cancelled; changes trigger evaluations in between."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self.bank.attach(loop, self._on_edge)
        self.inputs.start(self.bank, self.clock.time_ns())
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
            self.outputs.release_to_boot_state()
            with contextlib.suppress(Exception):
                self.memory.save(self.outputs.since, None, force=True)

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
                    self.outputs.drive_levels(self.safe_levels())

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
        if not self.inputs.reading(reading):
            return
        if self._loop is not None and self._loop.time() < self._grace_until:
            return  # still gathering the first readings (see run())
        self.request_evaluation()

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
        self.steps.watch()  # a step since the last evaluation shifts the old stamps, not this one
        now_ns = self.clock.time_ns()
        spec = self.config.gpio.inputs[edge.input]
        tags = self._input_tags[edge.input]
        if edge.kind == "pulse":
            if edge.active:
                total = self.memory.pulses(edge.input, edge.count)
                journal_point(self.core, "input", tags, {spec.quantity or "pulses": total}, now_ns)
            return
        self.inputs.edge(edge, now_ns)
        field = "motion" if edge.kind == "motion" else "open"
        journal_point(self.core, "input", tags, {field: edge.active}, now_ns)
        self.evaluate(f"input {edge.input}")

    # ---- one evaluation -----------------------------------------------------------------------
    def evaluate(self, trigger: str = "change") -> Decision | None:
        """Decide at ``now`` and apply: relays re-asserted, events raised, memory kept. Never raises:
        a failure anywhere in it counts towards the safe levels (:mod:`gateway.control.safety`)."""
        try:
            return self._evaluate(trigger)
        except Exception:
            self._rules_failed(trigger)
            return None

    def _evaluate(self, trigger: str) -> Decision:
        trusted = self.clock_trusted()
        now = self.clock.now()
        site = self.inputs.site()
        state = replace(self.state_at(now), clock_trusted=trusted)
        decision = engine.decide(site, state, now)
        self.evaluations += 1
        self.core.metrics.inc("gateway_rules_evaluations_total")
        self.outputs.apply(decision)
        for event in decision.events(self.lang):
            self.core.raise_event(event)
        self.episodes.succeeded()  # a good evaluation is one whose outputs and events went through
        self.memory.current = decision.memory
        self.last_decision = decision
        self.memory.save(self.outputs.since, self._loop)
        flows = self.inputs.flows.rates(decision.now_ns)
        view = self.status.view(decision, now, site=self.inputs.last_site, inputs=self.inputs.levels, flows=flows)
        self.control.publish(view)
        if trigger == "tick":  # once per tick, not per change: a regular sample for the hourly duty
            self._publish_zones(decision)
        return decision

    def state_at(self, now: datetime) -> State:
        """The rules' input at ``now``: state store, pins, overrides, memory."""
        relays = {name: RelayState(on, self.outputs.since.get(name)) for name, on in self.bank.relay_states().items()}
        return self.inputs.state_at(now, relays=relays, memory=self.memory.current)

    # ---- failures: safe levels, one episode at a time ------------------------------------------
    def _rules_failed(self, trigger: str) -> None:
        """An evaluation raised: counted; the heating outputs go to their safe level when it is time."""
        if self.episodes.failed(trigger):
            self.outputs.drive_levels(self.safe_levels())

    def safe_levels(self) -> dict[str, bool]:
        """The level each output takes while the rules cannot run (:func:`gateway.control.safety.safe_levels`)."""
        return safe_levels(self.config, self.bank)

    def _rules_ok(self, ok: bool) -> None:
        """An episode starts or ends: the façade says so; a new alarm reaches the last view at once."""
        self.control.rules_ok = ok
        if not ok:
            self._republish_alerts()

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
        self.control.publish(replace(latest, alerts=self.status.alerts(self.last_decision)))

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
            journal_point(self.core, "climate", tags, fields, decision.now_ns)

    # ---- time on a Pi without RTC --------------------------------------------------------------
    def clock_trusted(self) -> bool:
        """Whether ``now`` may drive schedules (the clock guard's verdict, after looking for a step)."""
        return self.steps.trusted()

    def on_clock_step(self, step_s: float) -> None:
        """The wall clock stepped by ``step_s``: move every wall-time stamp held here by as much."""
        step_ns = round(step_s * 1e9)
        now_ns = self.steps.stepped()
        self.outputs.shift(step_ns)
        self.inputs.shift(step_ns, now_ns)
        self.memory.shift(step_ns)
        log.info("clock stepped %+.0f s: relay, input and memory times shifted by as much", step_s)
        self.request_evaluation()
