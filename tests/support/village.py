"""The smallest test village most tests start from, and a core whose journal is a recorder.

Rules: the TOML builders return plain text (no ``str.format`` braces to escape), so a test appends
its own story (relays, sinks, service paths) after them and still reads top to bottom;
:func:`recorded_core` builds a real :class:`gateway.core.Core` with a :class:`JournalRecorder` at
the journal boundary for tests that do not exercise the journal itself.

Example::

    CONFIG = site() + hall(sensor="salle-t1") + '[gpio.relays.salle-chauffage]\\npin = 17\\n'
    core, journal, clock = recorded_core(parse_config(CONFIG))
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from gateway.clock import ManualClock
from gateway.config import GatewayConfig
from gateway.core import Core
from gateway.model import Reading

#: The salle des fêtes' evening lettings: Tuesday, Thursday and Saturday, 18:00-23:00.
EVENINGS = '[{ days = "tue,thu,sat", start = "18:00", end = "23:00" }]'

#: Friday 27 November 2026, 12:00 UTC.
FRIDAY_NOON = datetime(2026, 11, 27, 12, tzinfo=UTC)


def site(
    site_id: str = "saint-martin",
    name: str = "Saint-Martin",
    *,
    timezone: str | None = None,
    latitude: float = 47.39,
    longitude: float = 0.98,
) -> str:
    """The ``[site]`` table of a village in Touraine (latitude and longitude for dusk and dawn)."""
    zone = "" if timezone is None else f'timezone = "{timezone}"\n'
    return f'[site]\nid = "{site_id}"\nname = "{name}"\n{zone}latitude = {latitude}\nlongitude = {longitude}\n'


def building(key: str, name: str, *, kind: str | None = None) -> str:
    """A ``[buildings.<key>]`` table."""
    return f'[buildings.{key}]\nname = "{name}"\n' + ("" if kind is None else f'kind = "{kind}"\n')


def zone(building_key: str, key: str, name: str, *, relay: str | None = None, sensors: str | None = None) -> str:
    """A zone of a building; with ``relay`` and/or ``sensors`` (one sensor id), its ``heating`` table begun."""
    text = f'[buildings.{building_key}.zones.{key}]\nname = "{name}"\n'
    if relay is None and sensors is None:
        return text
    text += f"[buildings.{building_key}.zones.{key}.heating]\n"
    if relay is not None:
        text += f'relay = "{relay}"\n'
    return text + ("" if sensors is None else f'sensors = ["{sensors}"]\n')


def bureaux() -> str:
    """Site ``t`` with its mairie, whose bureaux are heated by relay ``chauffage`` from thermometer ``t1``."""
    return (
        site("t", "T")
        + building("mairie", "Mairie", kind="mairie")
        + zone("mairie", "bureaux", "Bureaux", relay="chauffage", sensors="t1")
    )


def meter(bus: str, device_id: str, *, unit: int, profile: str, building: str) -> str:
    """One ``[[buses.<bus>.devices]]`` entry: a meter at Modbus ``unit`` read with ``profile``."""
    return (
        f'[[buses.{bus}.devices]]\nid = "{device_id}"\nunit = {unit}\n'
        f'profile = "{profile}"\nbuilding = "{building}"\n'
    )


def hall(
    *,
    kind: str | None = "hall",
    sensor: str | None = "salle-t1",
    schedule: str | None = EVENINGS,
    heating: str = "",
) -> str:
    """The salle des fêtes with its grande salle heated by relay ``salle-chauffage``.

    ``sensor=None`` leaves the zone unheated; ``schedule=None`` leaves it without a schedule;
    ``heating`` adds lines to the zone's ``heating`` table (failsafe, window, optimum start...).
    """
    text = '[buildings.salle]\nname = "Salle des fêtes"\n'
    if kind is not None:
        text += f'kind = "{kind}"\n'
    text += '[buildings.salle.zones.grande_salle]\nname = "Grande salle"\n'
    if sensor is None:
        return text
    text += f'[buildings.salle.zones.grande_salle.heating]\nrelay = "salle-chauffage"\nsensors = ["{sensor}"]\n'
    if schedule is not None:
        text += f"schedule = {schedule}\n"
    return text + heating


def tcp_bus(name: str, *, host: str = "127.0.0.1", port: int | str | None = None) -> str:
    """A ``[buses.<name>]`` Modbus TCP table (``port`` may be a ``"{port}"`` placeholder)."""
    return f'[buses.{name}]\nkind = "tcp"\nhost = "{host}"\n' + ("" if port is None else f"port = {port}\n")


def ble_sensor(
    sensor_id: str, address: str, *, advert_format: str | None = None, building: str, zone: str | None = None
) -> str:
    """One ``[[ble.sensors]]`` entry (``advert_format``: its ``format``, ``"pvvx"``...)."""
    text = f'[[ble.sensors]]\nid = "{sensor_id}"\naddress = "{address}"\n'
    text += "" if advert_format is None else f'format = "{advert_format}"\n'
    text += f'building = "{building}"\n'
    return text + ("" if zone is None else f'zone = "{zone}"\n')


def relay(relay_id: str, pin: int, **settings: str | int | float | bool | list[str]) -> str:
    """A ``[gpio.relays.<id>]`` table on BCM ``pin``; ``settings`` follow in order (``active_high=False``...)."""
    return f"[gpio.relays.{relay_id}]\npin = {pin}\n" + _lines(settings)


def gpio_input(input_id: str, pin: int, **settings: str | int | float | bool | list[str]) -> str:
    """A ``[gpio.inputs.<id>]`` table on BCM ``pin``; ``settings`` follow in order (``kind="motion"``...)."""
    return f"[gpio.inputs.{input_id}]\npin = {pin}\n" + _lines(settings)


def lighting_circuit(circuit_id: str, **settings: str | int | float | bool | list[str]) -> str:
    """A ``[lighting.circuits.<id>]`` table; ``settings`` in order (``relay="parvis"``, ``presence=[...]``...)."""
    return f"[lighting.circuits.{circuit_id}]\n" + _lines(settings)


def _lines(settings: dict[str, str | int | float | bool | list[str]]) -> str:
    """``key = value`` lines in TOML: strings quoted, booleans lower-case, lists of strings as arrays."""
    text = ""
    for key, value in settings.items():
        if isinstance(value, list):
            text += f"{key} = [" + ", ".join(f'"{item}"' for item in value) + "]\n"
        elif isinstance(value, bool):
            text += f"{key} = {str(value).lower()}\n"
        elif isinstance(value, str):
            text += f'{key} = "{value}"\n'
        else:
            text += f"{key} = {value}\n"
    return text


class JournalRecorder:
    """The journal boundary: the readings the core would have written, in order."""

    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.listeners: list[Callable[[int], None]] = []

    def append(self, reading: Reading) -> None:
        self.readings.append(reading)

    def add_commit_listener(self, listener: Callable[[int], None]) -> None:
        self.listeners.append(listener)

    def of(self, measurement: str) -> list[Reading]:
        """The recorded readings of one measurement."""
        return [r for r in self.readings if r.measurement == measurement]


def recorded_core(config: GatewayConfig, now: datetime = FRIDAY_NOON) -> tuple[Core, JournalRecorder, ManualClock]:
    """A real core on a manual clock set to ``now``, journaling into a :class:`JournalRecorder`."""
    clock = ManualClock(now)
    journal = JournalRecorder()
    return Core(config=config, clock=clock, journal=journal), journal, clock
