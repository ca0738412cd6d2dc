"""One bound for every door: the control façade refuses dates too far ahead or in the past, and more
pending overrides or exceptions than a zone may hold, whether the change comes from the admin page's
forms, an MQTT command or a direct call (gateway/control/bounds.py).

Now is Friday 27 November 2026, 12:00 in Paris (tests/web/conftest.py).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.control import bounds
from gateway.control.mqtt_commands import CommandError, apply_override, parse_override
from gateway.control.values import ValidationError
from tests.web.conftest import NOW, csrf, form
from tests.web.test_edits import HALL, booking, error_next_to

PARIS = ZoneInfo("Europe/Paris")


def _text(html: str, field: str) -> str:
    return error_next_to(html, field).replace("\u00a0", " ")


@pytest.mark.parametrize(
    ("door", "start", "end", "field", "message"),
    [
        # bookings: after 2262 the nanosecond timestamps overflow: this answered 500
        ("override", "2263-01-01T10:00", "2263-01-01T12:00", "ov-end", "Au plus 366 jours à l'avance."),
        ("override", "9999-12-31T10:00", "9999-12-31T12:00", "ov-end", "Au plus 366 jours à l'avance."),
        # ten years ahead was accepted
        ("override", "2036-11-28T10:00", "2036-11-28T12:00", "ov-end", "Au plus 366 jours à l'avance."),
        # year 1, or a start long past with an end tonight
        ("override", "0001-01-01T10:00", "0001-01-01T12:00", "ov-start", "Le début est passé depuis plus d'un jour."),
        ("override", "2026-11-20T10:00", "2026-11-27T23:00", "ov-start", "Le début est passé depuis plus d'un jour."),
        # exceptions: their first and last days
        ("exception", "2036-12-19", "2036-12-24", "ex-last", "Au plus 731 jours à l'avance."),
        ("exception", "9999-12-01", "9999-12-31", "ex-last", "Au plus 731 jours à l'avance."),
        ("exception", "0001-01-01", "0001-01-02", "ex-first", "Le premier jour est passé depuis plus d'un jour."),
        ("exception", "2026-11-01", "2026-11-30", "ex-first", "Le premier jour est passé depuis plus d'un jour."),
    ],
)
def test_a_booking_or_exception_out_of_bounds_is_refused_next_to_its_field(
    agent, village, door, start, end, field, message
):
    token = csrf(agent, HALL)
    if door == "override":
        data = booking(token, "Mariage", start, end)
    else:
        data = form("ex", token, label="Fermeture", first=start, last=end)
    response = agent.post(f"{HALL}/{door}", data=data)
    assert response.status_code == 400
    assert message in _text(response.get_data(as_text=True), field)
    hall = village["control"].zone("salle", "grande_salle")
    assert (hall.overrides, hall.exceptions) == ((), ())


def test_a_booking_within_a_year_and_one_started_this_morning_are_taken(agent, village):
    token = csrf(agent, HALL)
    assert agent.post(f"{HALL}/override", data=booking(token, "Mariage", "2027-06-12T10:00", "2027-06-13T02:00")).status_code == 302  # fmt: skip
    assert agent.post(f"{HALL}/override", data=booking(token, "Ménage", "2026-11-27T07:00", "2026-11-27T14:00")).status_code == 302  # fmt: skip
    assert len(village["control"].zone("salle", "grande_salle").overrides) == 2


def test_school_holidays_two_years_ahead_are_taken(agent, village):
    token = csrf(agent, HALL)
    data = {"ex-csrf_token": token, "ex-label": "Noël 2027", "ex-first": "2027-12-18", "ex-last": "2028-01-02"}
    assert agent.post(f"{HALL}/exception", data=data).status_code == 302


@pytest.mark.parametrize(
    ("start", "end", "field", "message"),
    [
        ("2036-11-27T20:00", "2036-11-28T01:00", "end", "Au plus 366 jours à l'avance."),
        ("2263-11-27T20:00", "2263-11-28T01:00", "end", "Au plus 366 jours à l'avance."),
        ("0001-01-01T20:00", "2026-11-28T01:00", "start", "Le début est passé depuis plus d'un jour."),
    ],
)
def test_a_lighting_override_out_of_bounds_is_refused(agent, village, start, end, field, message):
    token = csrf(agent, "/eclairage")
    key = "l-parvis"
    data = {f"{key}-csrf_token": token, f"{key}-label": "Fête", f"{key}-on": "1", f"{key}-start": start, f"{key}-end": end}
    response = agent.post("/eclairage/parvis/override", data=data)
    assert response.status_code == 400
    assert message in _text(response.get_data(as_text=True), f"{key}-{field}")
    assert village["control"].circuit("parvis").overrides == ()


def test_mqtt_commands_meet_the_same_bound_as_the_forms(village):
    control = village["control"]
    now = NOW.astimezone(PARIS)

    def command(**data: str) -> object:
        import json

        request = parse_override("salle", "grande_salle", json.dumps(data).encode(), now=now, tz=PARIS)
        return apply_override(control, request)

    # a month ahead: the forms take it, so does MQTT (it used to stop at 14 days)
    command(mode="confort", start="2026-12-26T14:00", until="2026-12-26T23:00", label="Repas")
    for start, until, reason in [
        ("2263-01-01T10:00", "2263-01-01T12:00", "366 days ahead"),
        ("2036-01-01T10:00", "2036-01-01T12:00", "366 days ahead"),
        ("0001-01-01T10:00", "2026-11-27T23:00", "more than a day in the past"),
    ]:
        with pytest.raises(CommandError, match=reason):
            command(mode="confort", start=start, until=until)
    assert [o.label for o in control.zone("salle", "grande_salle").overrides] == ["Repas"]


def test_the_facade_itself_holds_the_bound_for_any_caller(village):
    control = village["control"]
    now = NOW.astimezone(PARIS)
    far = now + bounds.MAX_AHEAD + timedelta(minutes=1)
    with pytest.raises(ValidationError) as err:
        control.add_override("salle", "grande_salle", mode="confort", start=far - timedelta(hours=2), end=far, user="t")
    assert "366 days ahead" in err.value.errors["end"]
    with pytest.raises(ValidationError) as err:
        control.add_lighting_override("parvis", on=True, start=now - timedelta(days=2), end=now + timedelta(hours=1), user="t")  # fmt: skip
    assert "a day in the past" in err.value.errors["start"]
    with pytest.raises(ValidationError) as err:
        control.add_exception("salle", "grande_salle", date(1, 1, 1), date(1, 1, 2), "x", user="t")
    assert "a day in the past" in err.value.errors["start"]
    with pytest.raises(ValidationError) as err:
        control.add_exception("salle", "grande_salle", date(2029, 1, 1), date(2029, 1, 2), "x", user="t")
    assert "731 days ahead" in err.value.errors["end"]
    assert control.zone("salle", "grande_salle").overrides == ()
    assert control.zone("salle", "grande_salle").exceptions == ()


def test_a_zone_holds_a_bounded_number_of_pending_overrides_and_exceptions(agent, village):
    control = village["control"]
    now = NOW.astimezone(PARIS)
    for i in range(bounds.MAX_PENDING_OVERRIDES):
        start = now + timedelta(days=i + 1)
        control.add_override("salle", "grande_salle", mode="confort", start=start, end=start + timedelta(hours=2), user="mqtt")  # fmt: skip
    token = csrf(agent, HALL)
    response = agent.post(f"{HALL}/override", data=booking(token, "Une de trop", "2026-12-30T10:00", "2026-12-30T12:00"))
    assert response.status_code == 400
    assert "Au plus 20 réservations ou dérogations à la fois" in response.get_data(as_text=True)
    assert len(control.zone("salle", "grande_salle").overrides) == bounds.MAX_PENDING_OVERRIDES
    # another zone, and the lighting, have their own share
    control.add_override("mairie", "bureaux", mode="reduit", end=now + timedelta(hours=1), user="t")
    # cancelling one makes room
    first = control.zone("salle", "grande_salle").overrides[0]
    control.cancel_override(first.id, user="t")
    control.add_override("salle", "grande_salle", mode="confort", end=now + timedelta(hours=1), user="t")
    # exceptions: ended ones do not count, pending ones do
    for i in range(bounds.MAX_PENDING_EXCEPTIONS):
        day = date(2026, 12, 1) + timedelta(days=i)
        control.add_exception("mairie", "bureaux", day, day, f"Fermeture {i}", user="t")
    with pytest.raises(ValidationError, match="at most 100 exceptions not yet ended"):
        control.add_exception("mairie", "bureaux", date(2027, 6, 1), date(2027, 6, 1), "Une de trop", user="t")
    village["clock"].advance(7 * 86400)  # 4 December: three of them have ended
    control.add_exception("mairie", "bureaux", date(2027, 6, 1), date(2027, 6, 1), "Juin", user="t")


def test_a_label_is_one_short_line_at_every_door(village):
    control = village["control"]
    end = datetime(2026, 11, 27, 23, tzinfo=PARIS)
    for label, message in [("x" * 121, "longer than 120"), ("a\nb", "control characters"), ("a\x7fb", "control")]:
        with pytest.raises(ValidationError, match=message):
            control.add_override("salle", "grande_salle", mode="confort", end=end, label=label, user="t")
