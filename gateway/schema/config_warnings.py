"""Configuration warnings: a valid file whose choices a person should know about (issue 10).

Rules of this module:
- a warning never refuses a configuration (errors do, in each section's ``cross_check``); it is a
  ``(path, reason)`` like a problem, located the same way (``FILE:LINE: path: reason``), printed by
  ``check-config`` and reported by ``doctor`` as ``WARN``;
- each reason says what may happen and what to write instead;
- pure: the configuration in, the warnings out (:func:`located` re-reads the file for the lines).

The heating warnings:
- ``failsafe.mode = "off"`` on a zone heated by a relay: when its thermometer falls silent the zone
  is never heated, whatever the weather — a frost risk (a kitchen reached 0.7 °C in a three-day
  outage);
- a zone heated by a relay whose fail-safe follows the model, without ``outdoor_sensor``: on a
  dead thermometer the fail-safe cannot follow the weather and holds hors-gel against an assumed
  −10 °C night (it may overheat a mild spell); the site's outdoor thermometer is suggested when
  other zones name one.

The journal warning (:func:`gateway.schema.journal.buffer_warnings`, also logged by ``run`` at start):
``journal.buffer_points`` smaller than one commit window of the readings the Modbus devices make
(readings a second x ``commit_interval_s``): the oldest readings of each window would be dropped.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from gateway.config_problems import located_in_file
from gateway.errors import ConfigProblem
from gateway.schema.journal import buffer_warnings
from rules.zone_model import FAILSAFE_OUTDOOR_C


def heating_warnings(config: Any) -> list[tuple[str, str]]:
    """The heated zones' frost risks and blind fail-safes, as ``(path, reason)``."""
    warnings: list[tuple[str, str]] = []
    named = Counter(
        zone.heating.outdoor_sensor
        for building in config.buildings.values()
        for zone in building.zones.values()
        if zone.heating is not None and zone.heating.outdoor_sensor
    )
    site_outdoor = named.most_common(1)[0][0] if named else None
    for bid, building in config.buildings.items():
        for zid, zone in building.zones.items():
            heating = zone.heating
            # pilot-wire convectors keep their own thermostat; local heating of people has no fail-safe
            if heating is None or heating.relay is None or heating.kind != "room":
                continue
            base = f"buildings.{bid}.zones.{zid}.heating"
            if heating.failsafe.mode == "off":
                warnings.append(
                    (
                        f"{base}.failsafe.mode",
                        'frost risk: with "off", a silent thermometer leaves the zone unheated whatever the '
                        'weather (pipes may freeze in a cold night); write mode = "model" (the default: the '
                        "building's model and the outdoor temperature hold a safe temperature)",
                    )
                )
            elif heating.failsafe.mode == "model" and heating.outdoor_sensor is None:
                hint = (
                    f'outdoor_sensor = "{site_outdoor}" (the site\'s outdoor thermometer)'
                    if site_outdoor
                    else "an outdoor thermometer (outdoor_sensor = ...)"
                )
                warnings.append(
                    (
                        f"{base}.outdoor_sensor",
                        f"no outdoor temperature: on a dead thermometer the fail-safe cannot follow the weather "
                        f"and holds hors-gel against an assumed {FAILSAFE_OUTDOOR_C:g} °C night (it may overheat "
                        f"in mild weather); add {hint}",
                    )
                )
    return warnings


def config_warnings(config: Any) -> list[tuple[str, str]]:
    """Every warning of the configuration, as ``(path, reason)``."""
    return heating_warnings(config) + buffer_warnings(config)


def located(config: Any, path: str | Path) -> list[ConfigProblem]:
    """The warnings located in the file ``path`` the configuration was read from, in file order."""
    return located_in_file(path, config_warnings(config))
