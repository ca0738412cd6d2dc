"""The Énergie page: each building's energy signature this winter against last winter, and the saving at
equal climate, from the archive; the meters' table as before; still served when the archive fails."""

from __future__ import annotations

import re

from gateway.archive import Archive
from gateway.clock import ManualClock
from gateway.web.app import create_app
from gateway.web.backend import Backend
from tests.web.conftest import login
from tests.web.test_degraded import BrokenArchive


def page_of(village, config, archive, clock) -> str:
    backend = Backend(config=config, control=village["control"], metrics=village["metrics"],
                      state=village["core"].state, clock_now_ns=clock.time_ns, archive=archive)
    app = create_app(config=config, backend=backend, users=village["users"], secret_key=b"k" * 64)
    client = app.test_client()
    login(client, "secretaire")
    return client.get("/energie").get_data(as_text=True)


def test_the_signature_of_each_building_this_winter_against_last(village_year, village):
    config, path, end = village_year
    clock = ManualClock(end)
    archive = Archive(path, clock=clock)
    try:
        html = page_of(village, config, archive, clock)
    finally:
        archive.close()
    text = re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Cet hiver, à climat égal" in text
    assert "Du 25 octobre 2026 au 26 novembre 2026, comparé aux mêmes dates un an plus tôt" in text
    for building in ("mairie", "ecole", "salle", "eglise"):
        card = re.search(rf'<section class="card signature" id="sig-{building}">(.*?)</section>', html, re.S)
        assert card, building
        assert "<svg" in card.group(1)
        assert 'role="img"' in card.group(1)
        saving = re.search(r'data-testid="saving">([^<]+)<', card.group(1))
        assert saving, building
        assert saving.group(1).endswith("%"), building
    assert "Chauffage par degré-jour" in text
    assert "mairie-general" in text  # the meters' table follows


def test_a_failing_archive_leaves_the_page_up(village_year, village):
    config, _path, end = village_year
    html = page_of(village, config, BrokenArchive(), ManualClock(end))
    assert "Énergie" in html
    assert 'id="signatures"' not in html
