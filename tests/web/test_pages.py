"""What each page shows, in French by default (19,5 °C, 14 h 30) and in English on request."""

from __future__ import annotations

import json
import re

from tests.web.conftest import csrf


def text(response) -> str:
    """The page's visible text; runs of ASCII white space become one space (no-break spaces are kept)."""
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def assert_shows(page: str, *texts: str) -> None:
    """Every one of ``texts`` is on ``page``; the failure names all the missing ones."""
    missing = [t for t in texts if t not in page]
    assert not missing, missing


def test_overview_answers_is_it_warm_where_it_should_be_and_why(agent, village):
    response = agent.get("/")
    assert response.status_code == 200
    page = text(response)
    status = village["control"].zone("mairie", "bureaux").status
    assert status.reason
    assert status.reason in response.get_data(as_text=True)
    assert_shows(
        page,
        "Bureaux et accueil",
        "Grande salle",
        "Vue d'ensemble",
        "Consigne",
        "19,0\u00a0°C",  # the mairie's last measured temperature, French format
        "Parvis de la salle",  # lighting circuit
        "mairie-general",
        "ne répond pas",
    )


def test_overview_shows_energy_today_and_this_week_from_the_archive(agent):
    page = text(agent.get("/"))
    # the history adds 1 kWh per idle hour and 4 per occupied hour (08 h - 18 h on weekdays). Friday
    # 27 November up to 12 h: 8 idle + 4 occupied hours = 24 kWh; Monday to Friday noon: 4 x 54 + 24 = 240 kWh
    assert "mairie-general Mairie 4\u202f000\u00a0W 24,0\u00a0kWh 240,0\u00a0kWh 12\u00a0h" in page
    assert "ecole-eau Mairie 0,010\u00a0m³/h 0,120\u00a0m³ 1,080\u00a0m³ 12\u00a0h" in page  # flow from the counter


def test_overview_puts_alerts_at_the_top(agent):
    page = text(agent.get("/"))
    # the hall's thermometer never reported: the rules' fail-safe alert comes before the zones
    assert page.index("Capteur muet · Salle des fêtes – Grande salle") < page.index("Bureaux et accueil")


def test_zone_page_has_reason_chart_data_schedule_and_booking_form(agent, village):
    response = agent.get("/zone/salle/grande_salle")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Réserver la salle des fêtes" in html
    assert village["control"].zone("salle", "grande_salle").status.reason in html
    # the schedule: Tuesday, Thursday, Saturday 18 h – 23 h, as editable rows
    assert html.count('action="/zone/salle/grande_salle/period/') == 4  # 3 periods + "new"
    assert 'value="18:00"' in html
    assert 'value="23:00"' in html


def test_zone_chart_data_comes_from_the_hourly_archive(agent):
    html = agent.get("/zone/mairie/bureaux").get_data(as_text=True)
    data = json.loads(
        re.search(r'<script type="application/json" id="zone-history">(.*?)</script>', html, re.S).group(1)
    )
    assert len(data["t"]) == 7 * 24 + 1
    assert data["t"][1] - data["t"][0] == 3600
    temps = [v for v in data["temperature"] if v is not None]
    assert set(temps) == {15.5, 19.0}
    assert max(v for v in data["outdoor"] if v is not None) > 7
    assert {v for v in data["heater"] if v is not None} == {0.0, 1.0}


def test_unknown_zone_is_404(agent):
    assert agent.get("/zone/mairie/cave").status_code == 404
    assert agent.get("/zone/nulle-part/bureaux").status_code == 404


def test_lighting_page_shows_circuit_reason_night_cut_and_sun_times(agent, village):
    page = text(agent.get("/eclairage"))
    circuit = village["control"].circuit("parvis")
    assert "Parvis de la salle" in page
    assert circuit.status.reason in page
    assert "Coupure de nuit 23\u00a0h – 5\u00a0h" in page
    assert re.search(r"Coucher du soleil \d{2}\u00a0h\u00a0\d{2}", page)


def test_energy_page_compares_with_last_year_and_lists_water(agent):
    page = text(agent.get("/energie"))
    assert_shows(
        page,
        "Même mois l'an dernier",
        "ecole-eau (eau)",
        "m³",
        "mairie-general (électricité)",
        "Aujourd'hui 24,0\u00a0kWh Hier 54,0\u00a0kWh Cette semaine 240,0\u00a0kWh Ce mois-ci 368,0\u00a0kWh",
        "jeu. 26 nov. 54,0\u00a0kWh —",  # day by day; no data a year ago
        "Hier 0,240\u00a0m³",
    )


def test_system_page_shows_devices_journal_sinks_clock_disk_version(agent):
    page = text(agent.get("/systeme"))
    assert_shows(
        page,
        "Version 0.1.0",
        "Horloge synchronisée oui",
        "ecole-eau",
        "timeout after 1.0 s",
        "ecole-eau modbus compteurs Mairie 27/11/2026 12\u00a0h 3 timeout after 1.0 s",
        "Disque libre",
        "Aucune destination configurée",
    )
    assert "Go" in page or "Mo" in page
    assert re.search(r"Points conservés \d+ Taille sur disque \d+,\d\u00a0ko / 268,4\u00a0Mo", page)


def test_action_log_starts_empty(agent):
    assert "Rien n'a encore été modifié." in text(agent.get("/journal"))


def test_english_on_request_with_english_formats(agent):
    token = csrf(agent, "/")
    response = agent.post("/language", data={"csrf_token": token, "lang": "en", "next": "/zone/mairie/bureaux"})
    assert response.headers["Location"] == "/zone/mairie/bureaux"
    page = text(agent.get("/"))
    assert "Overview" in page
    assert "Target" in page
    assert "19.0\u00a0°C" in page
    lighting = text(agent.get("/eclairage"))
    assert "Night cut 23:00 – 05:00" in lighting


def test_health_is_json_without_anything_sensitive(client, village):
    response = client.get("/health")
    body = response.get_json()
    assert response.status_code == 200
    assert body["status"] in {"ok", "degraded"}
    assert body["version"] == "0.1.0"
    assert body["devices_unavailable"] == 1
    assert body["journal_ok"] is True
    raw = response.get_data(as_text=True)
    for secret in (
        "secretaire",
        "maire",
        "ecole-eau",
        "saint-martin",
        str(village["config"].service.state_dir),
    ):
        assert secret not in raw


def test_health_is_degraded_while_the_rules_hold_the_outputs_safe(client, village):
    assert client.get("/health").get_json()["rules_ok"] is True
    village["control"].rules_ok = False  # what the control service sets after failing evaluations
    body = client.get("/health").get_json()
    assert body["rules_ok"] is False
    assert body["status"] == "degraded"


def test_metrics_are_prometheus_text(client):
    response = client.get("/metrics")
    body = response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert re.search(r'^gateway_points_total\{measurement="meter"\} \d+$', body, re.M)
    assert "# TYPE modbus_errors_total counter" in body
    assert 'modbus_errors_total{device="ecole-eau"} 3' in body
    assert "gateway_rules_evaluations_total 1" in body
    for line in body.splitlines():
        assert line.startswith("#") or re.match(r"^[a-zA-Z_:][\w:]*(\{[^}]*\})? -?[\d.e+-]+|NaN$", line), line
