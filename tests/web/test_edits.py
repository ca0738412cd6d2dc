"""Editing from the zone and lighting pages: every input validated server-side, the error next to its
field, nothing half-applied; accepted changes reach the rules and the action log."""

from __future__ import annotations

import html as htmllib
import re
from datetime import time

import pytest

from gateway.control.values import SchedulePeriod
from tests.web.conftest import csrf, form

HALL = "/zone/salle/grande_salle"


def week(village):
    return village["control"].zone("salle", "grande_salle").week


def error_next_to(html: str, field_id: str) -> str:
    """The error text rendered right after the field ``field_id`` (the field points to it: aria-describedby)."""
    assert re.search(
        rf'id="{re.escape(field_id)}"[^>]*aria-describedby="{re.escape(field_id)}-error"', html
    ) or re.search(rf'aria-describedby="{re.escape(field_id)}-error"[^>]*id="{re.escape(field_id)}"', html), field_id
    match = re.search(
        rf'</(?:select|input)?>?\s*<span class="error" id="{re.escape(field_id)}-error">([^<]+)<', html
    ) or re.search(rf'<span class="error" id="{re.escape(field_id)}-error">([^<]+)<', html)
    assert match, f"no error next to {field_id}"
    return htmllib.unescape(match.group(1))


def period(token, key, day, start, end, mode="confort"):
    return {
        f"{key}-csrf_token": token,
        f"{key}-index": "" if key == "new" else key[1:],
        f"{key}-day": str(day),
        f"{key}-start": start,
        f"{key}-end": end,
        f"{key}-mode": mode,
    }


def test_moving_a_period_changes_the_week_and_is_logged(agent, village):
    token = csrf(agent, HALL)
    response = agent.post(f"{HALL}/period/0", data=period(token, "p0", 1, "19:00", "23:30"))
    assert response.status_code == 302
    assert SchedulePeriod(1, time(19), time(23, 30), "confort") in week(village)
    assert len(week(village)) == 3
    page = agent.get(response.headers["Location"]).get_data(as_text=True)
    assert "Horaires enregistrés." in page
    log = agent.get("/journal").get_data(as_text=True)
    assert "secretaire" in log
    assert "Horaires modifiés" in log
    assert "Salle des fêtes – Grande salle" in log
    # before: the configured schedule; after: Tuesday moved to 19 h – 23 h 30
    assert "les horaires de la configuration" in log
    assert "mar. 19\u00a0h – 23\u00a0h\u00a030 confort" in log


def test_adding_and_removing_a_period(agent, village):
    token = csrf(agent, HALL)
    assert agent.post(f"{HALL}/period/new", data=period(token, "new", 6, "10:00", "12:00", "reduit")).status_code == 302
    assert SchedulePeriod(6, time(10), time(12), "reduit") in week(village)
    index = list(week(village)).index(SchedulePeriod(6, time(10), time(12), "reduit"))
    assert agent.post(f"{HALL}/period-remove", data={"rm-csrf_token": token, "rm-index": str(index)}).status_code == 302
    assert len(week(village)) == 3


def test_a_period_until_midnight_is_accepted(agent, village):
    token = csrf(agent, HALL)
    assert agent.post(f"{HALL}/period/new", data=period(token, "new", 4, "20:00", "00:00")).status_code == 302
    assert SchedulePeriod(4, time(20), time(0), "confort") in week(village)


@pytest.mark.parametrize(
    ("day", "start", "end", "mode", "field", "message"),
    [
        (1, "19:00", "18:00", "confort", "new-end", "La fin doit être après le début."),
        (1, "25:00", "23:00", "confort", "new-start", "N'est pas un horaire valide."),
        (1, "19:00", "", "confort", "new-end", "Une heure valide, par exemple 18:00."),
        (9, "10:00", "11:00", "confort", "new-day", "N'est pas un choix valide."),
        (1, "10:00", "11:00", "canicule", "new-mode", "N'est pas un choix valide."),
        (1, "20:00", "22:00", "confort", "new-start", "Cette plage chevauche une autre plage du même jour."),
    ],
)
def test_a_bad_period_is_refused_with_the_error_next_to_its_field(
    agent, village, day, start, end, mode, field, message
):
    before = week(village)
    token = csrf(agent, HALL)
    response = agent.post(f"{HALL}/period/new", data=period(token, "new", day, start, end, mode))
    assert response.status_code == 400
    assert message in error_next_to(response.get_data(as_text=True), field)
    assert week(village) == before  # nothing applied


def test_editing_a_period_that_does_not_exist_is_404(agent):
    token = csrf(agent, HALL)
    assert agent.post(f"{HALL}/period/7", data=period(token, "p7", 1, "10:00", "11:00")).status_code == 404


def test_copying_a_day_replaces_the_target_days(agent, village):
    token = csrf(agent, HALL)
    data = {"copy-csrf_token": token, "copy-source": "1", "copy-targets": ["0", "4"]}
    assert agent.post(f"{HALL}/copy", data=data).status_code == 302
    days = sorted(p.day for p in week(village))
    assert days == [0, 1, 3, 4, 5]
    assert all(p.start == time(18) and p.end == time(23) for p in week(village))


@pytest.mark.parametrize(
    ("targets", "message"),
    [([], "Choisissez au moins un jour."), (["1", "2"], "Un jour ne peut pas être copié sur lui-même.")],
)
def test_copying_a_day_badly_is_refused(agent, village, targets, message):
    before = week(village)
    token = csrf(agent, HALL)
    response = agent.post(f"{HALL}/copy", data={"copy-csrf_token": token, "copy-source": "1", "copy-targets": targets})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert week(village) == before


def test_the_configured_schedule_can_be_restored(agent, village):
    token = csrf(agent, HALL)
    agent.post(f"{HALL}/period/new", data=period(token, "new", 6, "10:00", "12:00"))
    assert not village["control"].zone("salle", "grande_salle").week_is_default
    assert agent.post(f"{HALL}/reset", data={"reset-csrf_token": token, "reset-ident": "reset"}).status_code == 302
    assert village["control"].zone("salle", "grande_salle").week_is_default


def booking(token, label, start, end, mode="confort"):
    return form("ov", token, label=label, start=start, end=end, mode=mode)


def test_booking_the_hall_for_tonight_raises_its_target(agent, village):
    # Friday 27 November, 12 h; the hall is not scheduled on Fridays
    token = csrf(agent, HALL)
    response = agent.post(f"{HALL}/override", data=booking(token, "Loto", "2026-11-27T12:00", "2026-11-27T23:00"))
    assert response.status_code == 302
    village["evaluate"]()  # the daemon re-evaluates on every change (tested end to end in Chromium)
    detail = village["control"].zone("salle", "grande_salle")
    assert [o.label for o in detail.overrides] == ["Loto"]
    assert detail.status.mode == "confort"
    assert detail.status.target_c == 19.0
    page = agent.get(HALL).get_data(as_text=True)
    assert "Loto" in page
    assert "27/11/2026 23\u00a0h" in page
    override_id = detail.overrides[0].id
    assert (
        agent.post(
            f"{HALL}/override-cancel", data={"cancel-csrf_token": token, "cancel-ident": str(override_id)}
        ).status_code
        == 302
    )
    assert village["control"].zone("salle", "grande_salle").overrides == ()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"start": "2026-11-27T20:00", "end": "2026-11-27T19:00"},
            "ov-end",
            "La fin doit être après le début.",
        ),
        ({"start": "2026-11-27T20:00", "end": "demain"}, "ov-end", "N'est pas une date/heure valide."),
        ({"start": "2026-11-27T20:00", "end": ""}, "ov-end", "Une date et une heure valides."),
        ({"start": "2026-11-20T08:00", "end": "2026-11-20T10:00"}, "ov-end", "La fin est déjà passée."),
        (
            {"start": "2026-11-27T20:00", "end": "2027-06-27T20:00"},
            "ov-end",
            "Une dérogation dure au plus 180 jours.",
        ),
        ({"mode": "canicule"}, "ov-mode", "N'est pas un choix valide."),
        ({"label": ""}, "ov-label", "Obligatoire."),
        ({"label": "x" * 81}, "ov-label", "Le champ ne peut pas contenir plus de 80 caractères."),
    ],
)
def test_a_bad_booking_is_refused_with_the_error_next_to_its_field(agent, village, data, field, message):
    token = csrf(agent, HALL)
    values = {"label": "Loto", "start": "2026-11-27T18:00", "end": "2026-11-27T23:00", "mode": "confort"}
    values.update(data)
    response = agent.post(f"{HALL}/override", data=booking(token, **values))
    assert response.status_code == 400
    assert message in error_next_to(response.get_data(as_text=True), field).replace("\u00a0", " ")
    assert village["control"].zone("salle", "grande_salle").overrides == ()


def test_a_booking_offers_each_mode_with_its_configured_setpoint(agent, village):
    html = agent.get("/zone/mairie/bureaux").get_data(as_text=True)
    assert '<option selected value="confort">Confort (19,0\u00a0°C)</option>' in html
    assert "Hors-gel (8,0\u00a0°C)" in html
    assert ">Arrêt</option>" in html
    token = csrf(agent, "/zone/mairie/bureaux")
    response = agent.post(
        "/zone/mairie/bureaux/override",
        data=booking(token, "Conseil municipal", "2026-11-27T18:00", "2026-11-27T22:00", "reduit"),
    )
    assert response.status_code == 302
    (override,) = village["control"].zone("mairie", "bureaux").overrides
    assert override.mode == "reduit"
    assert override.user == "secretaire"


def test_exceptions_are_added_checked_and_removed(agent, village):
    token = csrf(agent, HALL)
    bad = agent.post(
        f"{HALL}/exception",
        data=form("ex", token, label="Noël", first="2026-12-31", last="2026-12-19"),
    )
    assert bad.status_code == 400
    assert "Le dernier jour ne peut pas précéder le premier." in error_next_to(bad.get_data(as_text=True), "ex-last")
    ok = agent.post(
        f"{HALL}/exception",
        data=form("ex", token, label="Vacances de Noël", first="2026-12-19", last="2027-01-03"),
    )
    assert ok.status_code == 302
    (exception,) = village["control"].zone("salle", "grande_salle").exceptions
    assert exception.label == "Vacances de Noël"
    assert exception.periods == ()
    assert "Vacances de Noël" in agent.get(HALL).get_data(as_text=True)
    removed = agent.post(f"{HALL}/exception-remove", data=form("exrm", token, ident=str(exception.id)))
    assert removed.status_code == 302
    assert village["control"].zone("salle", "grande_salle").exceptions == ()


def test_lighting_override_and_its_validation(agent, village):
    token = csrf(agent, "/eclairage")
    key = "l-parvis"
    bad = agent.post(
        "/eclairage/parvis/override",
        data=form(key, token, label="Fête", on="1", start="2026-11-27T20:00", end="2026-11-27T19:00"),
    )
    assert bad.status_code == 400
    assert "La fin doit être après le début." in error_next_to(bad.get_data(as_text=True), f"{key}-end")
    ok = agent.post(
        "/eclairage/parvis/override",
        data=form(key, token, label="Fête", on="1", start="2026-11-27T20:00", end="2026-11-28T01:00"),
    )
    assert ok.status_code == 302
    (override,) = village["control"].circuit("parvis").overrides
    assert override.on is True
    assert override.label == "Fête"
    assert (
        agent.post(
            "/eclairage/override-cancel", data={"cancel-csrf_token": token, "cancel-ident": str(override.id)}
        ).status_code
        == 302
    )
    assert village["control"].circuit("parvis").overrides == ()
    assert agent.post("/eclairage/nulle-part/override", data={f"{key}-csrf_token": token}).status_code == 404


def test_every_change_appears_in_the_action_log_newest_first(agent, village):
    token = csrf(agent, HALL)
    agent.post(f"{HALL}/period/new", data=period(token, "new", 6, "10:00", "12:00"))
    agent.post(f"{HALL}/override", data=booking(token, "Loto", "2026-11-27T18:00", "2026-11-27T23:00"))
    rows = re.findall(
        r"<tr><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>",
        agent.get("/journal").get_data(as_text=True),
    )
    assert rows == [
        ("secretaire", "Réservation ou dérogation ajoutée", "Salle des fêtes – Grande salle"),
        ("secretaire", "Horaires modifiés", "Salle des fêtes – Grande salle"),
    ]
    log = agent.get("/journal").get_data(as_text=True)
    assert "« Loto », Confort, 27/11/2026 18\u00a0h → 27/11/2026 23\u00a0h" in log
