"""The zone page's thermal-model card (issue 10): the learned time constant and losses, and when tomorrow's
heating starts and why — from the rules' own model summary of the last evaluation."""

from __future__ import annotations

import dataclasses
import html as html_text
import re
from typing import Any

import pytest

from gateway.model import Reading
from rules.types import ModelSummary
from tests.web.conftest import csrf


def _rules_zone(village: dict[str, Any], key: str) -> Any:
    decision = village["service"].last_decision
    return next(z for z in decision.zones if z.zone == key)


_REAL = object()


@pytest.fixture
def with_model(village: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The hall's page as the façade gives it (its status carries the rules' model summary), or with ``summary``."""
    backend = village["backend"]
    real = backend.zone

    def use(summary: Any = _REAL) -> ModelSummary | None:
        if summary is not _REAL:

            def zone(building: str, zone: str) -> Any:
                detail = real(building, zone)
                return dataclasses.replace(detail, status=dataclasses.replace(detail.status, model=summary))

            monkeypatch.setattr(backend, "zone", zone)
            return summary
        model = real("salle", "grande_salle").status.model
        assert model == _rules_zone(village, "salle/grande_salle").model  # the façade carries the rules' own
        return model

    return use


def _text(html: str, ident: str) -> str:
    match = re.search(rf'id="{ident}">([^<]*)<', html)
    assert match, f"no #{ident} on the page"
    return html_text.unescape(match.group(1))


def _hall_read_at(village: dict[str, Any], temperature_c: float) -> None:
    """The hall's thermometer speaks (the web village has no history for it), and the rules decide."""
    tags = {"site": "saint-martin", "device": "salle-thermo", "building": "salle", "zone": "grande_salle"}
    now_ns = village["clock"].time_ns()
    village["core"].publish(Reading.make("climate", tags, {"temperature_c": temperature_c}, time_ns=now_ns))
    village["evaluate"]()


def test_the_hall_shows_its_time_constant_losses_and_when_tomorrows_heating_starts(agent, village, with_model) -> None:
    # Given the hall at 14 °C on Friday noon, next occupied on Saturday 18:00, its model the rules' own
    _hall_read_at(village, 14.0)
    summary = with_model()
    assert summary is not None
    assert summary.next_start_ns is not None
    # When the agent opens its page
    html = agent.get("/zone/salle/grande_salle").get_data(as_text=True)
    # Then the card gives the model's figures and the next preheat, in French
    assert "Modèle thermique" in html
    assert _text(html, "model-tau") == f"{round(summary.tau_h)}\u00a0h"
    start = _text(html, "model-start")
    assert start.startswith("Relance demain à "), start  # Saturday, from Friday
    assert "pour être à la consigne à l'arrivée" in start  # why: the model's lead at that time
    assert "Depuis l'état actuel (structure à 14,0\u00a0°C), il faudrait " in start
    assert _text(html, "model-source").startswith("Pas encore appris")


def test_learned_figures_and_a_silent_thermometer_are_said(agent, with_model) -> None:
    with_model(
        ModelSummary(
            tau_h=41.3,
            ua_per_kw=1 / 26.0,
            ua_kw_per_k=0.31,
            learned=True,
            hours=312,
            rmse=0.03,
            structure_c=14.2,
            estimated_c=15.1,
            next_start_ns=None,
            lead_h=2.5,
        )
    )
    html = agent.get("/zone/salle/grande_salle").get_data(as_text=True)
    assert _text(html, "model-tau") == "41\u00a0h"
    assert _text(html, "model-losses") == "0,31\u00a0kW/K"
    assert _text(html, "model-full-power") == "26,0\u00a0°C"
    assert _text(html, "model-source").startswith("Appris sur 312 heures d'historique de la zone.")
    assert _text(html, "model-start").startswith("Relance en cours : le modèle prévoit 2\u00a0h\u00a030")
    assert "le modèle estime l'air à 15,1\u00a0°C" in _text(html, "model-estimated")


def test_in_english(agent, village, with_model) -> None:
    _hall_read_at(village, 14.0)
    with_model()
    agent.post("/language", data={"csrf_token": csrf(agent, "/"), "lang": "en", "next": "/"})
    html = agent.get("/zone/salle/grande_salle").get_data(as_text=True)
    assert "Thermal model" in html
    assert _text(html, "model-start").startswith("Heating starts tomorrow at ")


def test_a_status_without_model_shows_no_card(agent, with_model) -> None:
    with_model(None)  # the gateway starting: no evaluation yet
    html = agent.get("/zone/salle/grande_salle").get_data(as_text=True)
    assert 'id="model"' not in html
