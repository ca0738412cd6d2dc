"""End to end in real headless Chromium (Debian's /usr/bin/chromium driven by Playwright) against the
real ``village-gateway demo`` (the simulated village): log in, read a zone's reason, change a schedule period, book the
village hall for tonight and see the zone's target change, see it in the action log, log out.

Screenshots of every page go to ``test-artifacts/web/``; with ``UPDATE_SCREENSHOTS=1`` the overview is
also copied to ``docs/screenshots/overview.png`` for the README (never by default: a test run leaves the tree clean).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.support.procs import free_port, require_tool, running
from tests.web.demo_history import demo_argv, demo_credentials, prepare_demo_history

pytestmark = pytest.mark.web

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=fr-FR",
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``village-gateway demo --http 127.0.0.1:PORT --state-dir DIR`` with a week of archived history."""
    state = tmp_path_factory.mktemp("demo-state")
    prepare_demo_history(state, days=7)
    port = free_port()
    log = state.parent / "demo.log"
    with running(demo_argv(state, f"127.0.0.1:{port}"), port=port, log=log, timeout=60) as proc:
        credentials = demo_credentials(log.read_text(encoding="utf-8"))
        yield {"url": f"http://127.0.0.1:{port}", "proc": proc, "log": log, **credentials}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = require_tool("chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def shot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_the_agent_books_the_hall_and_sees_it_everywhere(demo, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    # Log in (every page sends a stranger to the login form first)
    page.goto(demo["url"] + "/")
    assert "/login" in page.url
    shot(page, "01-login")
    page.fill("#name", demo["user"])
    page.fill("#password", demo["password"])
    page.click("#login-submit")
    page.wait_for_url(demo["url"] + "/")

    # Read a zone's reason on the overview (the first rules evaluation may still be a moment away)
    hall = page.locator("#zone-salle-grande_salle")
    reason = hall.locator("[data-testid=reason]").inner_text()
    deadline = time.monotonic() + 30
    while "Pas encore évalué" in reason and time.monotonic() < deadline:
        time.sleep(0.5)
        page.reload()
        reason = hall.locator("[data-testid=reason]").inner_text()
    assert "Salle des fêtes" in reason, reason
    shot(page, "02-overview")

    # The hall's page: status, a 7-day chart drawn by the vendored uPlot, the schedule
    hall.locator("h4 a").click()
    page.wait_for_url("**/zone/salle/grande_salle")
    page.wait_for_selector(".chart canvas")
    target_before = page.locator("#target").inner_text()
    shot(page, "03-zone")

    # Change a schedule period. The period of today (if any) moves three days later, so the hall is
    # unoccupied now whatever day the test runs, and the booking below visibly changes its target.
    tz = ZoneInfo("Europe/Paris")
    today = datetime.now(tz).weekday()
    rows = page.locator("form.period")
    days = [int(rows.nth(i).locator("select[name$=-day]").input_value()) for i in range(rows.count())]
    index = days.index(today) if today in days else 0
    free_day = next(d for d in ((today + k) % 7 for k in range(3, 7)) if d not in days)
    row = rows.nth(index)
    row.locator("select[name$=-day]").select_option(str(free_day))
    row.locator("input[name$=-end]").fill("23:30")
    row.locator("button[type=submit]").click()
    page.wait_for_selector("text=Horaires enregistrés.")
    saved = page.locator("form.period").all()
    assert any(
        f.locator("select[name$=-day]").input_value() == str(free_day)
        and f.locator("input[name$=-end]").input_value() == "23:30"
        for f in saved
    )
    if today in days:  # the hall had a period today: it is now unoccupied, the target drops or stays low
        page.reload()
    target_unoccupied = page.locator("#target").inner_text()

    # Book the village hall for tonight (the form proposes tonight; start now so it applies at once)
    assert page.locator("#ov-h").inner_text() == "Réserver la salle des fêtes"
    now = datetime.now(tz).replace(second=0, microsecond=0)
    page.fill("#ov-label", "Loto du comité des fêtes")
    page.fill("#ov-start", now.strftime("%Y-%m-%dT%H:%M"))
    end = now.replace(hour=23, minute=59) if now.hour < 23 else now.replace(minute=59)
    page.fill("#ov-end", end.strftime("%Y-%m-%dT%H:%M"))
    page.select_option("#ov-mode", "confort")
    page.click("#booking-form button[type=submit]")
    page.wait_for_selector("text=Réservation enregistrée : Loto du comité des fêtes.")
    target_after = page.locator("#target").inner_text()
    shot(page, "04-zone-booked")
    assert target_after == "19,0\u00a0°C", (target_before, target_unoccupied, target_after)
    assert target_unoccupied != target_after
    assert "Confort" in page.locator("#mode").inner_text()
    assert "Loto du comité des fêtes" in page.locator("#overrides").inner_text()

    # The overview shows the new target and a reason that mentions the booking
    page.click("nav >> text=Vue d'ensemble")
    hall_text = page.locator("#zone-salle-grande_salle").inner_text()
    assert "19,0\u00a0°C" in hall_text

    # Every other page renders, in French, without a script error
    for path, name, title in [
        ("/eclairage", "05-lighting", "Éclairage"),
        ("/energie", "06-energy", "Énergie"),
        ("/systeme", "07-system", "Système"),
    ]:
        page.goto(demo["url"] + path)
        assert page.locator("h1").inner_text() == title
        shot(page, name)
    assert "0.1.0" in page.locator("#version").inner_text()

    # The action log shows both changes, by the demo account
    page.click("nav >> text=Journal des actions")
    log_text = page.locator("#actions").inner_text()
    assert log_text.count(demo["user"]) >= 2
    assert "Salle des fêtes – Grande salle" in log_text
    assert "Horaires modifiés" in log_text
    assert "Loto du comité des fêtes" in log_text
    shot(page, "08-action-log")

    # The water meter (polled every minute) shows its flow once it has read the counter twice
    page.goto(demo["url"] + "/")
    water = page.locator("tr", has_text="ecole-eau")
    deadline = time.monotonic() + 90
    while "m³/h" not in water.inner_text() and time.monotonic() < deadline:
        time.sleep(2)
        page.reload()
    assert "m³/h" in water.inner_text(), water.inner_text()
    overview = shot(page, "02-overview-later")
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        (ROOT / "docs" / "screenshots").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(overview, ROOT / "docs" / "screenshots" / "overview.png")

    # The zone chart has its outdoor line (the demo's outdoor thermometer) and the heater's duty
    page.goto(demo["url"] + "/zone/mairie/bureaux")
    history = json.loads(page.locator("#zone-history").text_content())
    assert any(v is not None for v in history["outdoor"])
    assert any(v is not None and 0 <= v <= 1 for v in history["heater"])
    assert any(v is not None for v in history["target"])

    # Phone-sized screen: the overview still fits (no horizontal scroll)
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, storage_state=context.storage_state()
    )
    small = phone.new_page()
    small.goto(demo["url"] + "/zone/salle/grande_salle")
    small.wait_for_selector(".chart canvas")
    assert small.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(small, "09-zone-phone")
    phone.close()

    # Log out: the session is gone
    page.click("#logout")
    page.wait_for_url("**/login")
    assert "Vous êtes déconnecté." in page.content()
    page.goto(demo["url"] + "/journal")
    assert "/login" in page.url
    assert not errors, errors  # no CSP violation, no script error
    context.close()


def test_the_daemon_logs_the_admin_page_and_keeps_running(demo):
    text = demo["log"].read_text(encoding="utf-8")
    assert re.search(r"admin page on http://127\.0\.0\.1:\d+/", text)
    assert demo["proc"].poll() is None
