"""A zone's heating configuration: setpoints, schedule, exceptions, outputs, thermostat, safety.

Rules of this module: frozen pydantic models, unknown keys rejected, nothing read from a file or the
clock. Defaults encode French rules (docs/rules.md cites them): 19 °C occupied (Code de l'énergie
R241-26), 16 °C unoccupied 24–48 h and 8 °C beyond 48 h (R241-27).

Example (one zone's heating, in TOML)::

    [buildings.salle.zones.grande_salle.heating]
    relay = "salle-chauffage"            # or pilot_wire = { plus = "...", minus = "..." }
    sensors = ["salle-thermo"]
    schedule = [{ days = "tue,thu,sat", start = "18:00", end = "23:00" }]
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, model_validator

from rules.vocab import ClockTime, Days, Ident, Mode, Rules


class Setpoints(Rules):
    """Target temperature of each mode (°C). ``arret`` has none: the heater stays off."""

    confort: Annotated[float, Field(ge=5, le=26)] = 19.0  # R241-26: at most 19 °C occupied
    reduit: Annotated[float, Field(ge=5, le=26)] = 16.0  # R241-27: 16 °C unoccupied 24–48 h
    hors_gel: Annotated[float, Field(ge=3, le=15)] = 8.0  # R241-27: 8 °C unoccupied > 48 h

    @model_validator(mode="after")
    def _ordered(self) -> Setpoints:
        if not self.confort >= self.reduit >= self.hors_gel:
            raise ValueError("setpoints must satisfy confort >= reduit >= hors_gel")
        return self

    def of(self, mode: Mode) -> float | None:
        """The target of ``mode`` (``None`` for ``arret``)."""
        return None if mode == "arret" else float(getattr(self, mode))

    def mode_for(self, setpoint_c: float) -> Mode:
        """The warmest mode whose setpoint is at most ``setpoint_c`` (hors-gel below that).

        A booking at a temperature counts as occupied when it reaches confort, and a pilot-wire
        zone (whose convectors regulate themselves) gets this order: never warmer than asked.
        """
        if setpoint_c >= self.confort:
            return "confort"
        if setpoint_c >= self.reduit:
            return "reduit"
        return "hors_gel"


class Slot(Rules):
    """One line of a weekly schedule: on these days, from start to end, this mode.

    ``end`` at or before ``start`` runs past midnight into the next day. Time not covered by a
    slot is *unoccupied* and gets the mode of :class:`Unoccupied` (by the length of the gap).
    """

    days: Days
    start: ClockTime
    end: ClockTime
    mode: Mode = "confort"
    label: str = ""
    #: an active use (sport, dancing) whose confort is lower: a key of the zone's ``activities``
    activity: Ident | None = None


class Period(Rules):
    """A dated exception (inclusive dates): school holidays, a closure, a special week.

    During the period the zone follows ``schedule`` instead of its weekly one (empty = closed).
    """

    name: str = Field(min_length=1)
    start: date
    end: date
    schedule: tuple[Slot, ...] = ()

    @model_validator(mode="after")
    def _order(self) -> Period:
        if self.end < self.start:
            raise ValueError(f"period {self.name!r} ends ({self.end}) before it starts ({self.start})")
        return self


class Unoccupied(Rules):
    """The mode of an unoccupied gap, by the gap's whole length (R241-27 gives 16 °C / 8 °C maxima)."""

    under_24h: Mode = "reduit"  # nights between two working days (plan de sobriété 2022: 16 °C)
    from_24h: Mode = "reduit"  # 24–48 h: at most 16 °C
    over_48h: Mode = "hors_gel"  # > 48 h: at most 8 °C


class PilotWire(Rules):
    """A fil pilote output made of two relays with diodes (docs/rules.md has the wiring).

    ``plus`` passes the positive half-wave, ``minus`` the negative one. Orders: confort = none,
    eco = both, hors-gel = minus only, arrêt = plus only.
    """

    plus: Ident
    minus: Ident

    @model_validator(mode="after")
    def _distinct(self) -> PilotWire:
        if self.plus == self.minus:
            raise ValueError("pilot_wire needs two different relays (plus and minus)")
        return self


class Failsafe(Rules):
    """What a zone does when its temperature is stale (no fresh finite reading).

    ``model`` (default): the zone's learned heat balance stands in for the dead thermometer, driven by
    the outdoor temperature, and holds the scheduled temperature (at most ``safe_c`` if given) kept
    where the model's uncertainty cannot take the zone below hors-gel or above confort; with no
    outdoor temperature either, a duty that keeps hors-gel in a −10 °C night. ``duty``: a fixed
    ``duty_on_min`` every ``duty_period_min`` (blind to the weather). ``off``: the heater stays off —
    a frost risk, reported by ``check-config`` and ``doctor``.
    """

    stale_after_min: Annotated[float, Field(gt=0, le=240)] = 15.0
    mode: Literal["model", "duty", "off"] = "model"
    safe_c: Annotated[float, Field(ge=3, le=26)] | None = None
    duty_on_min: Annotated[float, Field(ge=0, le=60)] = 10.0
    duty_period_min: Annotated[float, Field(gt=0, le=240)] = 60.0

    @model_validator(mode="after")
    def _duty(self) -> Failsafe:
        if self.duty_on_min > self.duty_period_min:
            raise ValueError("failsafe.duty_on_min must not exceed duty_period_min")
        return self


class WindowDetection(Rules):
    """Heating off for up to ``off_min`` when a window opens (contact or a fast temperature drop)."""

    enabled: bool = True
    drop_c_per_min: Annotated[float, Field(gt=0, le=2)] = 0.03
    over_min: Annotated[float, Field(ge=3, le=30)] = 10.0  # the slope is a regression over this span
    off_min: Annotated[float, Field(gt=0, le=240)] = 30.0
    contacts: tuple[Ident, ...] = ()  # GPIO inputs: active = window open


class OptimumStart(Rules):
    """Start and stop heating from the zone's model (relance et arrêt optimisés), and the setback depth.

    - preheat so that the occupancy's target is reached when it starts: the zone's model predicts the
      lead from its air and structure temperatures and the outdoor temperature, times ``margin``;
      a lead longer than ``max_preheat_h`` heats from the cap and raises a ``preheat_late`` alert
      saying by how much the zone will be late (never a silent cap);
    - ``stop``: near the end of an occupancy, let the zone coast on its structure when the model says
      it stays above the target − 0.5 °C until the end (the thermostat still catches a miss);
    - ``deep_setback``: in a gap whose mode is réduit, let the zone cool towards hors-gel as long as
      the model says the recovery stays well within ``max_preheat_h`` (it always costs less heat);
    - ``rate_c_per_h`` is kept so older files load; the model replaced it.
    """

    enabled: bool = True
    rate_c_per_h: Annotated[float, Field(gt=0, le=20)] = 2.0
    max_preheat_h: Annotated[float, Field(ge=0, le=48)] = 12.0
    margin: Annotated[float, Field(ge=1, le=3)] = 1.15  # start this much earlier than predicted
    learn: bool = True
    stop: bool = True
    deep_setback: bool = True


class ZoneModel(Rules):
    """What the installer knows of the zone's building: the starting point of its learned model.

    ``archetype`` names a building archetype (``drivers/sim/archetypes``: ``mairie-pierre``, ...);
    with ``floor_area_m2`` and ``heater_kw`` the configuration loader turns it into ``prior`` (the
    rules' normalised parameters, :mod:`rules.thermal`). ``tau_h`` and ``ua_kw_per_k`` override the
    archetype's figures. With nothing, a generic prior (30 h, a heater sized for −7 °C) is learned
    from. ``emitter``: where the heater's output goes (convector: the air; radiant: half the walls).
    """

    archetype: Ident | None = None
    floor_area_m2: Annotated[float, Field(gt=0, le=20000)] | None = None
    heater_kw: Annotated[float, Field(gt=0, le=2000)] | None = None
    tau_h: Annotated[float, Field(gt=1, le=500)] | None = None
    ua_kw_per_k: Annotated[float, Field(gt=0, le=100)] | None = None
    emitter: Literal["convector", "radiant"] = "convector"
    #: minutes the heaters take to deliver their heat after a switch (their own thermal mass; default
    #: by emitter: convector 5, radiant 10): the thermostat switches that much ahead
    lag_min: Annotated[float, Field(ge=0, le=60)] | None = None
    #: normalised prior (h_ao, h_am, h_mo, c_m, c_a, g, h_occ, f) set by the configuration loader from the
    #: archetype (gateway/schema/zone_prior.py)
    prior: tuple[float, float, float, float, float, float, float, float] | None = None


class Presence(Rules):
    """Presence sensors of the zone (PIR, door contacts): a slot or booking nobody attends drops to
    réduit ``no_show_min`` after its start, and back to confort as soon as someone comes."""

    inputs: tuple[Ident, ...] = ()
    no_show_min: Annotated[float, Field(gt=0, le=240)] = 30.0


class HeatingConfig(Rules):
    """``[buildings.<b>.zones.<z>.heating]``: how one zone is heated and when."""

    relay: Ident | None = None  # an on/off heater (or contactor) on this [gpio] relay
    pilot_wire: PilotWire | None = None  # or electric convectors driven by fil pilote
    sensors: tuple[Ident, ...] = ()  # devices whose `temperature_c` is averaged
    outdoor_sensor: Ident | None = None  # a device whose `temperature_c` is outdoors (optimum start)
    setpoints: Setpoints = Field(default_factory=Setpoints)
    schedule: tuple[Slot, ...] = ()
    exceptions: tuple[Period, ...] = ()
    public_holidays: Literal["closed", "sunday", "normal"] = "closed"
    unoccupied: Unoccupied = Field(default_factory=Unoccupied)
    cold_tolerance: Annotated[float, Field(ge=0, le=3)] = 0.3  # heat below target - this
    hot_tolerance: Annotated[float, Field(ge=0, le=3)] = 0.3  # stop above target + this
    min_on_min: Annotated[float, Field(ge=0, le=60)] = 3.0
    min_off_min: Annotated[float, Field(ge=0, le=60)] = 3.0
    max_on_h: Annotated[float, Field(gt=0, le=48)] = 8.0  # maximum continuous on time
    #: highest temperature a booking or override may ask for (R241-26: 19 °C in occupied public
    #: buildings); the lowest is the zone's hors-gel setpoint
    max_setpoint_c: Annotated[float, Field(ge=5, le=26)] = 19.0
    max_rise_c_per_h: Annotated[float, Field(gt=0, le=20)] | None = None  # slow warm-up (churches)
    failsafe: Failsafe = Field(default_factory=Failsafe)
    window: WindowDetection = Field(default_factory=WindowDetection)
    optimum_start: OptimumStart = Field(default_factory=OptimumStart)
    model: ZoneModel = Field(default_factory=ZoneModel)
    presence: Presence = Field(default_factory=Presence)
    #: confort of active uses, by name (``{ sport = 16.0 }``): slots and bookings say ``activity = "sport"``
    activities: dict[Ident, Annotated[float, Field(ge=5, le=26)]] = Field(default_factory=dict)
    #: ``room``: the zone's air is heated to its target; ``people``: local heating of the occupants
    #: (pew heaters, radiant panels over the seats), on before an occupancy to its end, whatever the
    #: air (a thermometer, if any, only stops it once the air is warm enough). Its lead (rules.people):
    #: at least ``people_lead_min``, longer when the air is so cold that the heaters need more time to
    #: make the target felt at the seats; ``people_boost_c`` is what they add to the felt temperature
    #: at full power once warm (manufacturer's figure; pew heaters 5–10 K), ``people_warm_min`` how
    #: fast they get there (time constant)
    kind: Literal["room", "people"] = "room"
    people_lead_min: Annotated[float, Field(ge=0, le=240)] = 45.0
    people_boost_c: Annotated[float, Field(ge=1, le=20)] = 7.0
    people_warm_min: Annotated[float, Field(ge=1, le=120)] = 20.0

    @model_validator(mode="after")
    def _one_output(self) -> HeatingConfig:
        if (self.relay is None) == (self.pilot_wire is None):
            raise ValueError('heating needs exactly one output: relay = "<id>" or pilot_wire = {plus, minus}')
        if self.relay is not None and not self.sensors and self.kind == "room":
            raise ValueError("an on/off heater (relay) needs a temperature sensor (sensors = [...])")
        if self.kind == "people" and self.relay is None:
            raise ValueError('local heating of people (kind = "people") is switched by a relay')
        if self.max_setpoint_c < self.setpoints.hors_gel:
            raise ValueError("max_setpoint_c must not be below the hors_gel setpoint")
        for name, value in self.activities.items():
            if not self.setpoints.hors_gel <= value <= self.setpoints.confort:
                raise ValueError(f"activities.{name}: {value} °C must lie between hors_gel and confort")
        for slot in (*self.schedule, *(s for p in self.exceptions for s in p.schedule)):
            if slot.activity is not None and slot.activity not in self.activities:
                raise ValueError(f"activity {slot.activity!r} is not one of activities = {{...}}")
        return self

    def occupancy_target(self, setpoint_c: float | None = None, activity: str | None = None) -> float:
        """What an occupancy asks for: a booking's own temperature (kept within the zone's bounds),
        an active use's confort, or confort."""
        if setpoint_c is not None:
            low, high = self.setpoint_bounds()
            return min(high, max(low, setpoint_c))
        if activity is not None and activity in self.activities:
            return float(self.activities[activity])
        return float(self.setpoints.confort)

    def setpoint_bounds(self) -> tuple[float, float]:
        """What a booking's setpoint may be: hors-gel .. ``max_setpoint_c`` (°C)."""
        return float(self.setpoints.hors_gel), float(self.max_setpoint_c)

    @property
    def outputs(self) -> tuple[str, ...]:
        """The relay ids this zone drives."""
        if self.pilot_wire is not None:
            return (self.pilot_wire.plus, self.pilot_wire.minus)
        return (self.relay,) if self.relay else ()
