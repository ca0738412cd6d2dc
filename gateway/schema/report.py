"""``[report]``: degree-days, the reference for savings, and what is uploaded for the intercommunality.

Rules of this section:
- degree-days (DJU) come from the outdoor thermometer's hourly archive (``outdoor_sensor``; by
  default the one the heated zones name), with the COSTIC method at base 18 °C unless told
  otherwise (docs/reporting.md); ``degree_days_csv`` imports a weather station's daily DJU for
  the days the sensor did not cover (or for a Pi without one);
- "this winter" on the Énergie and public pages starts on the 1st of ``heating_season_start_month``;
- ``daily_summary`` uploads, through the journal like any reading, a per-building summary of each
  finished day (measurement ``energy_daily``) and a ``gateway_health`` point every
  ``health_interval_s`` (docs/upload.md).

Example::

    [report]
    outdoor_sensor = "exterieur"
    degree_days_csv = "dju-tours.csv"     # date;dju, one line a day (Météo-France, a DJU service)
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any, Literal

from pydantic import Field

from gateway.schema.base import Ident, Section
from gateway.schema.paths import ConfigPath


class ReportSection(Section):
    """Degree-days, heating season, uploads for the intercommunality."""

    outdoor_sensor: Ident | None = None  # default: the outdoor_sensor most heated zones name
    method: Literal["costic", "meteo"] = "costic"  # COSTIC (heating professionals) or Météo-France's mean
    base_c: Annotated[float, Field(ge=10, le=25)] = 18.0  # DJU base temperature (°C)
    degree_days_csv: ConfigPath | None = None  # a station's daily DJU, for days without the sensor
    heating_season_start_month: Annotated[int, Field(ge=1, le=12)] = 10  # "this winter" from the 1st of
    daily_summary: bool = True  # upload energy_daily (per building, per day) and gateway_health points
    health_interval_s: Annotated[float, Field(ge=10, le=3600)] = 60.0


def outdoor_sensor(config: Any) -> str | None:
    """The outdoor thermometer degree-days are computed from: configured, else the heated zones' choice
    (the one most zones name), else the simulation's outdoor sensor."""
    if config.report.outdoor_sensor:
        return str(config.report.outdoor_sensor)
    named = Counter(
        zone.heating.outdoor_sensor
        for building in config.buildings.values()
        for zone in building.zones.values()
        if zone.heating is not None and zone.heating.outdoor_sensor
    )
    if named:
        return str(sorted(named.items(), key=lambda item: (-item[1], item[0]))[0][0])
    sim = getattr(getattr(config, "simulation", None), "outdoor", None)
    return getattr(sim, "sensor", None)


def cross_check(config: Any) -> list[tuple[str, str]]:
    """A configured outdoor sensor must be a device the gateway reads (or the simulated one)."""
    name = config.report.outdoor_sensor
    if not name:
        return []
    known = {s.id for s in config.ble.sensors}
    known |= {d.id for bus in config.buses.values() for d in getattr(bus, "devices", ())}
    known |= {
        z.heating.outdoor_sensor
        for b in config.buildings.values()
        for z in b.zones.values()
        if z.heating is not None and z.heating.outdoor_sensor
    }
    sim_sensor = getattr(getattr(config.simulation, "outdoor", None), "sensor", None)
    if sim_sensor:
        known.add(sim_sensor)
    if name not in known:
        return [("report.outdoor_sensor", f"{name!r} is neither a BLE sensor, a meter nor a zone's outdoor_sensor")]
    return []
