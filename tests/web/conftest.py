"""A small village for the admin page: real config, control façade, settings store, state, journal
and hourly archive in a temporary state directory; Flask's test client with a logged-in agent or admin.

Helpers: ``login(client, name, password)`` and ``csrf(client, path)`` (the token the page
rendered, read from its HTML like a browser would).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from gateway.archive import Archive
from gateway.clock import ManualClock
from gateway.config import parse_config
from gateway.core import Core
from gateway.journal import open_journal
from gateway.metrics import Metrics
from gateway.model import Reading, Unavailable
from gateway.users import UserStore
from gateway.web.app import create_app
from gateway.web.backend import Backend
from gateway.web.login_guard import LoginGuard
from tests.support.village import ble_sensor, building, hall, meter, relay, site, tcp_bus, zone

#: A cheap argon2 profile for tests (the product uses argon2-cffi's RFC 9106 default: 64 MiB).
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "mot-de-passe-solide"

CONFIG = (
    site(name="Saint-Martin-sur-Loire")
    + "\n"
    + building("mairie", "Mairie", kind="mairie")
    + zone("mairie", "bureaux", "Bureaux et accueil", relay="mairie-chauffage", sensors="mairie-thermo")
    + 'outdoor_sensor = "exterieur"\n'
    + 'schedule = [{ days = "mon-fri", start = "08:30", end = "17:30" }]\n\n'
    + hall(sensor="salle-thermo")
    + "\n"
    + tcp_bus("compteurs", port=15502)
    + meter("compteurs", "mairie-general", unit=1, profile="sdm630", building="mairie")
    + meter("compteurs", "ecole-eau", unit=5, profile="pulse-counter", building="mairie")
    + 'quantity = "water_m3"\nscale = 0.001\n\n'
    + ble_sensor("mairie-thermo", "A4:C1:38:02:83:F4", building="mairie", zone="bureaux")
    + ble_sensor("salle-thermo", "A4:C1:38:02:83:F5", building="salle", zone="grande_salle")
    + "\n"
    + relay("mairie-chauffage", 17)
    + relay("salle-chauffage", 22)
    + relay("parvis", 18)
    + """[lighting.circuits.parvis]
name = "Parvis de la salle"
relay = "parvis"

[service]
state_dir = "{state_dir}"
"""
)

#: Friday 27 November 2026, 12:00 in Paris.
NOW = datetime(2026, 11, 27, 11, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def config(tmp_path: Path) -> Any:
    return parse_config(CONFIG.replace("{state_dir}", str(tmp_path / "state")))


@pytest.fixture
def village(config: Any, clock: ManualClock, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """What a running daemon hands the web service: core, control service on MockFactory pins, archive."""
    from gpiozero.pins.mock import MockFactory

    from gateway.hooks import Hooks
    from gateway.services.control import build as build_control

    state_dir = Path(config.service.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    metrics = Metrics()
    journal = open_journal(config, metrics=metrics, clock=clock)
    core = Core(config=config, clock=clock, journal=journal, metrics=metrics)
    parts = build_control(config, core, bank=None, pins=MockFactory(), guard=None, hooks=Hooks())
    service, control = parts.service, parts.control
    service.prepare()
    archive = Archive(state_dir / "archive.sqlite", clock=clock)
    history = list(_week_of_history(clock.now()))
    archive.add(history)
    archive.flush()
    for reading in history[-40:]:
        core.publish(reading)
    journal.commit()
    core.unavailable(Unavailable("ecole-eau", clock.time_ns(), "timeout after 1.0 s"))
    metrics.inc("modbus_errors_total", 3, device="ecole-eau")
    service.evaluate("test")
    backend = Backend(
        config=config,
        control=control,
        metrics=metrics,
        state=core.state,
        clock_now_ns=clock.time_ns,
        journal=journal,
        archive=archive,
        clock_status=lambda: (True, "NTP"),
    )
    users = UserStore.in_state_dir(state_dir, hasher=FAST_HASHER)
    users.add("secretaire", "agent", PASSWORD)
    users.add("maire", "admin", PASSWORD)
    yield {
        "config": config,
        "control": control,
        "service": service,
        "backend": backend,
        "users": users,
        "core": core,
        "metrics": metrics,
        "journal": journal,
        "archive": archive,
        "clock": clock,
        "evaluate": lambda: service.evaluate("test"),
    }
    archive.close()
    journal.close()
    service.store.close()


def _week_of_history(now: datetime) -> Iterator[Reading]:
    """Hourly readings for 8 days: room and outdoor temperatures, heater relay, energy and water counters."""
    start = now - timedelta(days=8)
    energy, water = 1000.0, 50.0
    for hour in range(8 * 24 + 1):
        t = start + timedelta(hours=hour)
        ns = int(t.timestamp()) * 1_000_000_000
        occupied = t.weekday() < 5 and 8 <= (t.hour + 1) % 24 <= 17
        energy += 4.0 if occupied else 1.0
        water += 0.01
        base = {"site": "saint-martin"}
        yield Reading.make(
            "climate",
            {**base, "device": "mairie-thermo", "building": "mairie", "zone": "bureaux"},
            {"temperature_c": 19.0 if occupied else 15.5},
            time_ns=ns,
        )
        yield Reading.make(
            "climate", {**base, "device": "exterieur"}, {"temperature_c": 4.0 + (t.hour % 12) / 3}, time_ns=ns
        )
        yield Reading.make(
            "relay",
            {**base, "device": "mairie-chauffage", "building": "mairie", "zone": "bureaux"},
            {"on": occupied},
            time_ns=ns,
        )
        yield Reading.make(  # what the control loop samples every tick (one per hour here)
            "climate",
            {**base, "device": "mairie/bureaux", "building": "mairie", "zone": "bureaux"},
            {"target_c": 19.0 if occupied else 16.0, "heater_on": occupied, "mode": "confort" if occupied else "reduit"},
            time_ns=ns,
        )
        yield Reading.make(
            "meter",
            {**base, "device": "mairie-general", "building": "mairie"},
            {"energy_import_kwh": energy, "power_w": 4000.0 if occupied else 1000.0},
            time_ns=ns,
        )
        yield Reading.make(
            "meter", {**base, "device": "ecole-eau", "building": "mairie"}, {"water_m3": water}, time_ns=ns
        )


@pytest.fixture
def app(village: dict[str, Any]) -> Any:
    return create_app(
        config=village["config"],
        backend=village["backend"],
        users=village["users"],
        secret_key=b"k" * 64,
        login_guard=LoginGuard(free=3, max_delay_s=300, monotonic=village["clock"].monotonic),
    )


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


_TOKEN = re.compile(
    r'name="(?:[\w-]+-)?csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="(?:[\w-]+-)?csrf_token"'
)


def csrf(client: Any, path: str) -> str:
    """The CSRF token a page rendered (as a browser would read it)."""
    html = client.get(path).get_data(as_text=True)
    match = _TOKEN.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def form(prefix: str, token: str, **fields: str) -> dict[str, str]:
    """A prefixed form's POST data, its CSRF token first: ``form("ex", token, label="Noël")`` is
    ``{"ex-csrf_token": token, "ex-label": "Noël"}``."""
    return {f"{prefix}-csrf_token": token, **{f"{prefix}-{name}": value for name, value in fields.items()}}


def login(client: Any, name: str, password: str = PASSWORD) -> Any:
    token = csrf(client, "/login")
    return client.post("/login", data={"csrf_token": token, "name": name, "password": password})


@pytest.fixture
def agent(client: Any) -> Any:
    response = login(client, "secretaire")
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def admin(client: Any) -> Any:
    response = login(client, "maire")
    assert response.status_code == 302
    return client


@pytest.fixture
def served(app: Any) -> Iterator[Any]:
    """The app behind a real waitress server (the daemon's :class:`WebServer`) on a free port."""
    from gateway.services.web import WebServer

    server = WebServer(app, host="127.0.0.1", port=0, threads=2)
    server.start()
    yield server
    server.stop()
