"""What the control loop feeds the admin page: per-tick zone samples (target, heater duty) in the
chart, reasons in the reader's language, water meters' flow, account changes in the one audit log,
bookings at a temperature, and a busy loop answered with "try again" (never a 500)."""

from __future__ import annotations

import asyncio
import json
import re
import threading

import pytest

from gateway.model import Reading
from tests.web.conftest import csrf
from tests.web.test_pages import text

HALL = "/zone/salle/grande_salle"


def _chart(client, path="/zone/mairie/bureaux"):
    html = client.get(path).get_data(as_text=True)
    return json.loads(re.search(r'<script type="application/json" id="zone-history">(.*?)</script>', html, re.S)[1])


def _thermometer(village, device, value):
    village["core"].publish(
        Reading.make(
            "climate",
            village["core"].tags(device=device, building="mairie", zone="bureaux"),
            {"temperature_c": value},
            time_ns=village["clock"].time_ns(),
        )
    )


def test_each_tick_samples_the_zones_target_and_heater_and_the_chart_shows_the_duty(agent, village):
    core, clock, service, archive = village["core"], village["clock"], village["service"], village["archive"]
    seen: list[Reading] = []
    core.on_reading(seen.append)
    clock.advance(3600)  # a fresh hour, Friday 13 h in Paris: the mairie is occupied (confort 19 °C)
    # Given the office cold for 10 min then warm for 20 min, ticking every 30 s
    for i in range(60):
        _thermometer(village, "mairie-thermo", 15.0 if i < 20 else 21.0)
        service.tick()
        service.evaluate("change")  # on-change evaluations publish no sample
        clock.advance(30)
    samples = [r for r in seen if r.measurement == "climate" and r.tag("device") == "mairie/bureaux"]
    # Then one sample per tick for the zone, with its target, heater state and mode
    assert len(samples) == 60
    fields = dict(samples[0].fields)
    assert fields == {"heater_on": True, "mode": "confort", "target_c": 19.0}
    assert dict(samples[-1].fields)["heater_on"] is False
    on = sum(1 for r in samples if dict(r.fields)["heater_on"])
    assert 20 <= on < 60  # on while cold (and its minimum on time), off once warm
    # And the hourly archive's mean of those 0/1 samples is the heater's duty fraction, on the chart
    archive.add(seen)
    archive.flush()
    clock.advance(3600)
    data = _chart(agent)
    hour = data["t"].index(max(t for t in data["t"] if t <= (clock.time_ns() // 10**9) - 3600 - 1800))
    assert data["heater"][hour] == pytest.approx(on / 60, abs=0.001)
    assert data["target"][hour] == 19.0
    assert 0 < data["heater"][hour] < 1


def test_an_english_reader_sees_the_reason_in_english(agent, village):
    token = csrf(agent, "/")
    agent.post("/language", data={"csrf_token": token, "lang": "en", "next": "/"})
    status = village["control"].zone("mairie", "bureaux").status
    assert status.reason_detail is not None
    english = status.reason_detail.text("en")
    assert english != status.reason  # the loop renders French for the journal and MQTT
    for path in ("/", "/zone/mairie/bureaux"):
        html = agent.get(path).get_data(as_text=True)
        assert english.replace("'", "&#39;") in html
        assert status.reason not in html
    circuit = village["control"].circuit("parvis").status
    assert circuit.reason_detail.text("en").replace("'", "&#39;") in agent.get("/eclairage").get_data(as_text=True)


def test_a_french_reader_sees_the_reason_in_french(agent, village):
    status = village["control"].zone("mairie", "bureaux").status
    assert status.reason_detail.text("fr") == status.reason
    assert status.reason in agent.get("/").get_data(as_text=True)


def test_a_water_meter_shows_its_last_reading_and_its_flow(agent, village):
    core, clock, service = village["core"], village["core"].clock, village["service"]
    # Given the school's water counter, then read every minute: 1.2 m³/h for 15 min
    base = core.state.snapshot().value("ecole-eau", "water_m3").value
    for minute in range(1, 16):
        clock.advance(60)
        core.publish(
            Reading.make(
                "meter",
                core.tags(device="ecole-eau", building="mairie"),
                {"water_m3": base + 0.02 * minute},
                time_ns=clock.time_ns(),
            )
        )
    service.tick()
    meter = next(m for m in village["control"].overview().meters if m.device == "ecole-eau")
    assert meter.water_m3 == pytest.approx(base + 0.3)
    assert meter.flow_m3_h == pytest.approx(1.2)
    assert meter.time is not None
    row = re.search(r"<tr[^>]*>\s*<td>ecole-eau</td>.*?</tr>", agent.get("/").get_data(as_text=True), re.S)[0]
    assert "1,200\u00a0m³/h" in row
    assert re.search(r"\d\d\u00a0h\u00a0\d\d", row)  # its last reading time, not "—"


def test_account_changes_go_to_the_control_audit_log(admin, village):
    token = csrf(admin, "/utilisateurs")
    response = admin.post(
        "/utilisateurs/ajouter",
        data={"add-csrf_token": token, "add-name": "agent2", "add-role": "agent", "add-password": "un-mot-de-passe-long"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    entries = village["control"].audit_log()
    assert [(e.user, e.action, e.subject, e.new) for e in entries[:1]] == [("maire", "user-add", "agent2", "agent")]
    assert not (village["config"].service.state_dir / "web-audit.jsonl").exists()
    assert "Compte créé" in text(admin.get("/journal"))


def test_an_older_web_audit_file_is_still_shown(agent, village):
    path = village["config"].service.state_dir / "web-audit.jsonl"
    path.write_text(
        json.dumps(
            {
                "time": "2026-11-26T10:00:00+01:00",
                "user": "maire",
                "action": "user-remove",
                "subject": "ancien",
                "old": "agent",
                "new": "",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    page = text(agent.get("/journal"))
    assert "Compte supprimé" in page
    assert "ancien" in page


def booking(token, mode, setpoint=""):
    return {
        "ov-csrf_token": token,
        "ov-label": "Répétition",
        "ov-start": "2026-11-27T12:00",
        "ov-end": "2026-11-27T23:00",
        "ov-mode": mode,
        "ov-setpoint_c": setpoint,
    }


def test_booking_the_hall_at_a_temperature(agent, village):
    page = agent.get(HALL).get_data(as_text=True)
    assert 'name="ov-setpoint_c"' in page
    assert "Une température (8,0\u00a0°C – 19,0\u00a0°C)" in text(agent.get(HALL))
    token = csrf(agent, HALL)
    response = agent.post(f"{HALL}/override", data=booking(token, "setpoint", "17,5"))
    assert response.status_code == 302, response.get_data(as_text=True)
    village["evaluate"]()
    detail = village["control"].zone("salle", "grande_salle")
    assert [(o.mode, o.setpoint_c) for o in detail.overrides] == [(None, 17.5)]
    assert detail.status.target_c == 17.5
    assert "Réservation à 17,5\u00a0°C" in text(agent.get(HALL))
    assert "Réservation à 17,5\u00a0°C" in text(agent.get("/journal"))


@pytest.mark.parametrize(
    ("mode", "setpoint", "message"),
    [
        ("setpoint", "25", "Entre 8,0 et 19,0 °C."),
        ("setpoint", "2", "Entre 8,0 et 19,0 °C."),
        ("setpoint", "chaud", "Une température en °C, par exemple 17,5."),
        ("setpoint", "", "Une température en °C, par exemple 17,5."),
        ("confort", "17", "Choisissez « une température » comme mode pour réserver une température."),
    ],
)
def test_a_bad_booking_temperature_is_refused_next_to_its_field(agent, village, mode, setpoint, message):
    token = csrf(agent, HALL)
    response = agent.post(f"{HALL}/override", data=booking(token, mode, setpoint))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    error = re.search(r'<span class="error" id="ov-setpoint_c-error">(.*?)</span>', html, re.S)
    assert error, html
    assert error[1].replace("\u00a0", " ") == message
    assert village["control"].zone("salle", "grande_salle").overrides == ()
    assert village["control"].audit_log() == []


def test_a_busy_control_loop_asks_to_try_again(agent, village, monkeypatch):
    # Given the façade attached to an event loop that is stuck (a long fsync, say) past the timeout
    monkeypatch.setattr("gateway.control.facade.CHANGE_TIMEOUT_S", 0.2)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    release = threading.Event()
    loop.call_soon_threadsafe(release.wait, 10)
    village["control"].attach(loop, lambda: None)
    try:
        token = csrf(agent, HALL)
        response = agent.post(f"{HALL}/override", data=booking(token, "confort"))
    finally:
        release.set()
        village["control"].detach()
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0.05), loop).result(5)  # the abandoned change runs out
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
    # Then "try again", not a 500, and nothing was applied
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "Réessayez dans un instant" in text(response)
    assert village["control"].zone("salle", "grande_salle").overrides == ()
