"""The page when parts of the gateway are missing or failing: still served, the trouble said in words."""

from __future__ import annotations

import re

from gateway.errors import StorageError
from gateway.web.app import create_app
from gateway.web.backend import Backend
from tests.web.conftest import login


class BrokenJournal:
    """A journal whose statistics cannot be read (disk failure)."""

    def stats(self):
        raise StorageError("disk I/O error")


class BrokenArchive:
    """An archive whose file cannot be read."""

    def series(self, *args, **kwargs):
        raise StorageError("database disk image is malformed")

    def counter_sum(self, *args, **kwargs):
        raise StorageError("database disk image is malformed")


def backend_of(village, **parts) -> Backend:
    """The village's backend with some of its parts (control, journal, archive) swapped."""
    village_parts = {
        "config": village["config"],
        "control": village["control"],
        "metrics": village["metrics"],
        "state": village["core"].state,
        "clock_now_ns": village["clock"].time_ns,
    }
    return Backend(**(village_parts | parts))


def degraded_client(village, *, journal, archive):
    backend = backend_of(village, journal=journal, archive=archive)
    app = create_app(config=village["config"], backend=backend, users=village["users"], secret_key=b"k" * 64)
    client = app.test_client()
    assert login(client, "secretaire").status_code == 302
    return client


def test_every_page_renders_without_archive_or_journal(village):
    client = degraded_client(village, journal=None, archive=None)
    for path in ["/", "/zone/mairie/bureaux", "/eclairage", "/energie", "/systeme", "/journal"]:
        assert client.get(path).status_code == 200, path
    assert "Statistiques du journal indisponibles." in client.get("/systeme").get_data(as_text=True)


def test_a_failing_archive_or_journal_is_said_not_crashed(village, caplog):
    client = degraded_client(village, journal=BrokenJournal(), archive=BrokenArchive())
    for path in ["/", "/zone/mairie/bureaux", "/energie", "/systeme"]:
        assert client.get(path).status_code == 200, path
    assert "archive read failed" in caplog.text
    health = client.get("/health")
    assert health.status_code == 503
    assert health.get_json()["status"] == "failing"
    assert client.get("/metrics").status_code == 200


def test_system_page_lists_ble_sensors_and_relays(agent):
    page = re.sub(r"<[^>]+>", " ", agent.get("/systeme").get_data(as_text=True))
    page = re.sub(r"[ \t\r\n]+", " ", page)
    assert "mairie-thermo ble Mairie 27/11/2026 12\u00a0h 0 OK" in page
    assert "salle-thermo ble Salle des fêtes jamais 0 pas encore de données" in page
    assert "parvis gpio relay" in page


def test_before_the_first_evaluation_the_reason_says_the_gateway_is_starting(village):
    from gateway.control.facade import Control

    fresh = Control(config=village["config"], store=village["service"].store, now=village["clock"].now)
    backend = backend_of(village, control=fresh)
    app = create_app(config=village["config"], backend=backend, users=village["users"], secret_key=b"k" * 64)
    client = app.test_client()
    login(client, "secretaire")
    html = client.get("/").get_data(as_text=True)
    assert html.count("Pas encore évalué : la passerelle démarre.") == 3  # two zones, one circuit
    assert "règles pas encore évaluées" in html


def test_energy_compares_with_the_same_period_last_year(village, tmp_path):
    """A year of archive: the same month and the same days a year before appear next to this year's."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from gateway.archive import Archive
    from gateway.model import Reading

    paris = ZoneInfo("Europe/Paris")
    archive = Archive(tmp_path / "archive.sqlite", clock=village["clock"])
    readings, energy = [], 500.0
    start = datetime(2025, 11, 1, tzinfo=paris)
    for hour in range(27 * 24 + 1):  # 1 November 2025 00 h .. 28 November 2025 00 h: +2 kWh an hour
        t = start + timedelta(hours=hour)
        energy += 2.0 if hour else 0.0
        readings.append(
            Reading.make(
                "meter",
                {"site": "saint-martin", "device": "mairie-general"},
                {"energy_import_kwh": energy},
                time_ns=int(t.timestamp()) * 10**9,
            )
        )
    archive.add(readings)
    archive.flush()
    backend = backend_of(village, archive=archive)
    (row,) = [r for r in backend.energy() if r.device == "mairie-general"]
    assert row.month_last_year == 27 * 24 * 2.0
    assert {d.isoformat(): ly for d, _v, ly in row.days}["2026-11-26"] == 48.0
    app = create_app(config=village["config"], backend=backend, users=village["users"], secret_key=b"k" * 64)
    client = app.test_client()
    login(client, "secretaire")
    page = re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", client.get("/energie").get_data(as_text=True)))
    assert "Même mois l'an dernier 1\u202f296,0\u00a0kWh" in page
    assert "jeu. 26 nov. — 48,0\u00a0kWh" in page  # no data this year in this archive; 48 kWh a year before
    assert "novembre 2026 — 1\u202f296,0\u00a0kWh" in page
    # settled periods are cached: a second rendering reads only today's and this month's hours
    calls = []
    original = archive.counter_sum
    archive.counter_sum = lambda *a, **k: calls.append(a) or original(*a, **k)
    backend.energy()
    assert len(calls) == 2 * 2  # two meters: only the daily and monthly "live" parts are read again
    archive.close()
