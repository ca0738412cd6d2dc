"""End to end on the real ``village-gateway demo --history-days 400`` (the simulated village with a year
and more of history): the public page answers without login, in French, styled under its own CSP, on a
phone's screen, in headless Chromium; ``village-gateway report`` gives every building its kWh, DJU,
kWh/DJU and saving at equal climate from the running demo's archive; the daemon uploads its health and
daily summaries through the journal.

Screenshots go to ``test-artifacts/web/``; with ``UPDATE_SCREENSHOTS=1`` the public page (phone) and the
Énergie page are also copied to ``docs/screenshots/`` (never by default: a test run leaves the tree clean).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from tests.support.procs import free_port, running
from tests.web.demo_history import demo_argv, demo_credentials
from tests.web.test_browser import ARTIFACTS, ROOT, browser, shot  # noqa: F401 - the browser fixture

pytestmark = pytest.mark.web


@pytest.fixture(scope="module")
def demo400(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``village-gateway demo --history-days 400`` on a fresh state directory."""
    state = tmp_path_factory.mktemp("demo400")
    port = free_port()
    log = state.parent / "demo400.log"
    with running(demo_argv(state, f"127.0.0.1:{port}", history_days=400), port=port, log=log, timeout=180) as proc:
        text = log.read_text(encoding="utf-8")
        assert "400 days of simulated history seeded" in text, text[-2000:]
        yield {"url": f"http://127.0.0.1:{port}", "proc": proc, "log": log, "state": state,
               **demo_credentials(text)}


def get(url: str) -> tuple[int, dict[str, str], bytes, float]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        body = response.read()
        return response.status, dict(response.headers), body, time.perf_counter() - started


def test_the_public_page_answers_without_login_in_french_on_a_phone(demo400, browser):  # noqa: F811
    status, headers, body, _ = get(demo400["url"] + "/public")
    assert status == 200
    assert "Set-Cookie" not in headers
    times = sorted(get(demo400["url"] + "/public")[3] for _ in range(20))
    print(f"/public: {len(body)} bytes, server answer median {times[10] * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="fr-FR")
    page = phone.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(demo400["url"] + "/public")
    assert page.url.endswith("/public")  # no detour through the login page
    assert page.locator("h1").inner_text() == "Saint-Martin-sur-Loire"
    text = page.locator("main").inner_text()
    assert "Ces 7 derniers jours" in text
    assert "Cet hiver" in text
    assert "à climat égal" in page.locator("header").inner_text()
    for name in ("Mairie", "École", "Salle des fêtes", "Église Saint-Martin"):
        assert page.locator("h2", has_text=name).count() == 1
    savings = page.locator("[data-testid=winter-saving]").all_inner_texts()
    assert len(savings) == 4
    assert all(re.fullmatch(r"[\u2212+]?\d+\u00a0%", s) for s in savings), savings
    assert "Bureaux et accueil" not in page.content()
    # styled: the inline style passed the page's own CSP (a refused style would be a console error)
    assert page.evaluate("getComputedStyle(document.querySelector('header')).backgroundColor") == "rgb(31, 111, 92)"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert requests == [demo400["url"] + "/public"]  # one request: nothing else to fetch
    assert not errors, errors
    path = shot(page, "10-public-phone")
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(path, ROOT / "docs" / "screenshots" / "public.png")
    phone.close()


def test_the_energy_page_shows_each_buildings_signature(demo400, browser):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(demo400["url"] + "/energie")
    assert "/login" in page.url
    page.fill("#name", demo400["user"])
    page.fill("#password", demo400["password"])
    page.click("#login-submit")
    page.wait_for_url("**/energie")
    assert page.locator("h2", has_text="Cet hiver, à climat égal").count() == 1
    assert page.locator("section.signature svg[role=img]").count() == 4
    assert all(s.endswith("%") for s in page.locator("[data-testid=saving]").all_inner_texts())
    assert not errors, errors
    path = shot(page, "11-energy-signatures")
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(path, ROOT / "docs" / "screenshots" / "energy.png")
    context.close()


def test_report_on_the_running_demo_gives_every_building_its_figures(demo400):
    last = date.today() - timedelta(days=1)
    first = last - timedelta(days=27)
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "report", "--config", str(ROOT / "examples" / "village.toml"),
         "--state-dir", str(demo400["state"]), "--from", first.isoformat(), "--to", last.isoformat()],
        capture_output=True, text=True, check=True, timeout=120,
    )
    print(f"report over 28 days: {time.perf_counter() - started:.2f} s")
    data = json.loads(out.stdout)
    assert set(data["buildings"]) == {"mairie", "ecole", "salle", "eglise"}
    assert data["dju"] > 0
    for building, figures in data["buildings"].items():
        for key in ("energy_kwh", "dju", "kwh_per_dju", "normalised_saving_pct"):
            assert figures[key] is not None, (building, key)


def test_the_daemon_uploads_its_health_and_daily_summaries(demo400):
    deadline = time.monotonic() + 90
    counts: dict[str, float] = {}
    while time.monotonic() < deadline:
        metrics = get(demo400["url"] + "/metrics")[2].decode()
        counts = {m: float(v) for m, v in re.findall(r'gateway_points_total\{measurement="(\w+)"\} ([\d.e+]+)', metrics)}
        if counts.get("energy_daily", 0) > 4 * 300 and counts.get("gateway_health", 0) >= 1:
            break
        time.sleep(1)
    assert counts.get("gateway_health", 0) >= 1, counts
    assert counts.get("energy_daily", 0) > 4 * 300, counts  # the backfill: about a year of days, four buildings
