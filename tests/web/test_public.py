"""The public page: off by default; when on, read-only, no login, no cookie, aggregates of the public
buildings only, its own CSP, cacheable; the static export is the same page."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest

from gateway.archive import Archive
from gateway.clock import ManualClock
from gateway.report.public import PublicPage
from gateway.web.app import create_app
from gateway.web.backend import Backend
from tests.web.conftest import login


@pytest.fixture
def public_app(village_year, village) -> Any:
    """The example village (public_page on, four public buildings, the offices' zone not public) over
    400 days of history, at the history's end."""
    config, path, end = village_year
    clock = ManualClock(end)
    archive = Archive(path, clock=clock)
    backend = Backend(config=config, control=village["control"], metrics=village["metrics"],
                      state=village["core"].state, clock_now_ns=clock.time_ns, archive=archive)
    yield create_app(config=config, backend=backend, users=village["users"], secret_key=b"k" * 64)
    archive.close()


def visible(html: str) -> str:
    """The text a reader sees; runs of ASCII white space become one space (no-break spaces are kept)."""
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", html, flags=re.S)))


def test_the_public_page_is_off_by_default(client):
    response = client.get("/public")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_it_answers_without_login_in_french_with_the_public_buildings_totals(public_app):
    response = public_app.test_client().get("/public")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = visible(html)
    assert "L'énergie de nos bâtiments publics, comparée à l'an dernier à climat égal." in page
    for name in ("Mairie", "École", "Salle des fêtes", "Église Saint-Martin"):
        assert f"<h2>{name}</h2>" in html
    assert "Ces 7 derniers jours" in page
    assert "Cet hiver" in page
    assert re.search(r"\u2212\d+\u00a0%", page)  # a saving at equal climate, with a true minus sign
    assert "kWh d'électricité, contre" in page
    assert "de chauffe évitées cet hiver" in page
    assert "Façade de la mairie : éteinte au cœur de la nuit" in page
    assert "Grande salle : chauffée" in page  # a zone marked public
    assert "Mis à jour le 27/11/2026 12\u00a0h" in page


def test_it_shows_nothing_private_and_offers_nothing_to_do(public_app):
    response = public_app.test_client().get("/public")
    html = response.get_data(as_text=True)
    for private in ("Bureaux et accueil", "Salles de classe", "mairie-general", "exterieur", "mairie-t1",
                    "mairie-chauffage", "Ouverture au public", "Loto", "demo", "/login", "/energie"):
        assert private not in html, private
    for tag in ("<form", "<script", "<input", "<a ", "<link", "<img", "csrf", "<iframe"):
        assert tag not in html, tag


def test_it_has_its_own_csp_sets_no_cookie_and_may_be_cached(public_app):
    client = public_app.test_client()
    response = client.get("/public")
    css = re.search(r"<style>(.*?)</style>", response.get_data(as_text=True), re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    csp = response.headers["Content-Security-Policy"]
    assert csp == (f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; "
                   "form-action 'none'; frame-ancestors 'none'")
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")
    assert response.headers["X-Frame-Options"] == "DENY"
    # a visitor logged in to the admin page gets the same bytes and no cookie either
    assert login(client, "secretaire").status_code == 302
    again = client.get("/public")
    assert again.get_data() == response.get_data()
    assert "Set-Cookie" not in again.headers
    # and nothing else became public
    assert public_app.test_client().get("/energie").status_code == 302


def test_it_accepts_no_change(public_app):
    client = public_app.test_client()
    for method in (client.post, client.put, client.delete):
        response = method("/public")
        assert response.status_code == 302  # like any URL a stranger may not use: to the login page
        assert "/login" in response.headers["Location"]


def test_a_zone_name_appears_only_when_marked_public(village_year, village):
    config, path, end = village_year
    offices_public = config.model_copy(update={"buildings": {
        **config.buildings,
        "mairie": config.buildings["mairie"].model_copy(update={"zones": {
            "bureaux": config.buildings["mairie"].zones["bureaux"].model_copy(update={"public": True})}}),
        "salle": config.buildings["salle"].model_copy(update={"public": False}),
    }})
    clock = ManualClock(end)
    archive = Archive(path, clock=clock)
    try:
        backend = Backend(config=offices_public, control=village["control"], metrics=village["metrics"],
                          state=village["core"].state, clock_now_ns=clock.time_ns, archive=archive)
        app = create_app(config=offices_public, backend=backend, users=village["users"], secret_key=b"k" * 64)
        page = visible(app.test_client().get("/public").get_data(as_text=True))
    finally:
        archive.close()
    assert "Bureaux et accueil : chauffée" in page
    assert "Salle des fêtes" not in page
    assert "Grande salle" not in page  # its building is no longer public


def test_the_static_export_is_the_same_page(public_app, village_year, tmp_path):
    from gateway.web.offline import render
    from gateway.web.views.public import CSS, page_html

    config, _path, _end = village_year
    view = public_app.extensions["gateway.backend"].reports.public_view()
    with public_app.test_request_context("/public"):
        served = page_html(view)
    assert render(config, "public/page.html", view=view, css=CSS) == served


def test_the_export_command_writes_one_self_contained_file(village_year, tmp_path):
    from gateway.cli import main

    _config, path, _end = village_year
    out = tmp_path / "energie.html"
    code = main(["public-page", "--config", "examples/village.toml", "--state-dir", str(path.parent),
                 "--output", str(out)])
    assert code == 0
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    assert "<h2>Mairie</h2>" in html
    assert "<script" not in html
    assert "Bureaux et accueil" not in html
    assert len(html.encode()) < 20_000


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_a_stale_view_is_served_while_the_next_is_computed_in_the_background(village_year):
    from gateway.report.daily import DailyFigures
    from gateway.report.reader import ReadOnlyArchive

    config, path, end = village_year
    mono = Clock()
    now = [end]
    page = PublicPage(DailyFigures(config=config, archive=ReadOnlyArchive(path), now=lambda: now[0]),
                      now=lambda: now[0], ttl_s=600, monotonic=mono)
    first = page.view()
    assert page.view() is first
    mono.t = 601
    now[0] = end + timedelta(days=1)
    assert page.view() is first  # stale but served at once; a thread computes the next one
    for _ in range(200):
        if page.view() is not first:
            break
        import time

        time.sleep(0.05)
    assert page.view().updated == end + timedelta(days=1)
