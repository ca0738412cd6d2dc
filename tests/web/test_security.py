"""Login on every route but /health and /metrics, CSRF on every form, throttling, cookies, headers, roles."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import PASSWORD, csrf, form, login

PUBLIC = {"/health", "/metrics", "/login", "/language"}


def _get_paths(app):
    paths = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or "GET" not in rule.methods:
            continue
        sample = {"building": "mairie", "zone": "bureaux", "circuit": "parvis", "key": "new"}
        paths.append(rule.build(sample)[1] if rule.arguments else rule.rule)
    return paths


def _post_paths(app):
    sample = {"building": "mairie", "zone": "bureaux", "circuit": "parvis", "key": "new"}
    return [
        rule.build(sample)[1] if rule.arguments else rule.rule
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods
    ]


def test_every_page_but_health_and_metrics_needs_a_login(app, client):
    paths = _get_paths(app)
    assert len(paths) >= 9
    for path in paths:
        response = client.get(path)
        if path in PUBLIC:
            assert response.status_code == 200, path
        else:
            assert response.status_code == 302, path
            assert response.headers["Location"].startswith("/login"), path
    assert client.get("/no/such/page").headers["Location"].startswith("/login")


def test_every_form_needs_a_login_even_with_a_valid_token(app, client, village):
    token = csrf(client, "/login")
    before = village["control"].zone("mairie", "bureaux").week
    for path in _post_paths(app):
        if path in PUBLIC:
            continue
        response = client.post(
            path,
            data={
                "csrf_token": token,
                "new-csrf_token": token,
                "new-day": "0",
                "new-start": "01:00",
                "new-end": "02:00",
                "new-mode": "confort",
            },
        )
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login"), path
    assert village["control"].zone("mairie", "bureaux").week == before


def test_every_form_refuses_a_missing_or_forged_csrf_token(app, agent, village):
    before = village["control"].zone("mairie", "bureaux").week
    for path in _post_paths(app):
        for token in (None, "forged-token"):
            data = {"new-day": "0", "new-start": "01:00", "new-end": "02:00", "new-mode": "confort"}
            if token:
                data.update({"csrf_token": token, "new-csrf_token": token})
            response = agent.post(path, data=data)
            assert response.status_code == 400, (path, token)
    assert village["control"].zone("mairie", "bureaux").week == before


def test_a_good_login_starts_a_fresh_session_and_goes_where_the_user_was_going(client):
    token = csrf(client, "/login")
    response = client.post(
        "/login?next=/energie", data={"csrf_token": token, "name": "secretaire", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/energie"
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    cookie = cookies["vg_session"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    device = cookies["vg_device"]  # this browser logged in once: its own login attempts count apart
    assert "HttpOnly" in device
    assert "SameSite=Strict" in device
    assert "Path=/login" in device
    assert client.get("/energie").status_code == 200


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "/%09/evil.example",
        "/%0A/evil.example",
        "/%0D/evil.example",
        "/%20/evil.example",
    ],
)
def test_login_never_redirects_to_another_site(client, target):
    token = csrf(client, "/login")
    response = client.post(
        f"/login?next={target}", data={"csrf_token": token, "name": "secretaire", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", ["//evil.example/", "/\t/evil.example", "/\n/evil.example", "https://evil.example/"])
def test_switching_language_never_redirects_to_another_site(agent, target):
    token = csrf(agent, "/")
    response = agent.post("/language", data={"csrf_token": token, "lang": "en", "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_switching_language_returns_to_the_local_page(agent):
    token = csrf(agent, "/")
    response = agent.post("/language", data={"csrf_token": token, "lang": "en", "next": "/energie"})
    assert response.headers["Location"] == "/energie"


def test_session_cookie_is_secure_over_https(client):
    token = csrf(client, "/login")
    response = client.post(
        "/login",
        data={"csrf_token": token, "name": "secretaire", "password": PASSWORD},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/login"},
    )
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


def test_a_wrong_password_says_nothing_about_which_part_was_wrong(client):
    unknown = login(client, "personne", PASSWORD)
    wrong = login(client, "secretaire", "pas-le-bon-mot")
    assert unknown.status_code == wrong.status_code == 401
    assert "Nom ou mot de passe incorrect." in wrong.get_data(as_text=True)
    assert "Nom ou mot de passe incorrect." in unknown.get_data(as_text=True)


def test_a_client_that_keeps_failing_is_slowed_down_even_with_the_right_password(client, village):
    # free=3 in these tests: the third failure makes this client (address, no device cookie) wait 1 s
    for _ in range(3):
        assert login(client, "secretaire", "mauvais-mot-de-passe").status_code == 401
    blocked = login(client, "secretaire", PASSWORD)
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == "1"
    assert "Trop de tentatives échouées. Réessayez dans 1 s." in blocked.get_data(as_text=True)
    village["clock"].advance(1)
    assert login(client, "secretaire", PASSWORD).status_code == 302


def test_one_address_trying_many_names_is_slowed_down_too(client):
    for i in range(12):  # 4 x free across names
        login(client, f"essai{i}", "mauvais-mot-de-passe")
    assert login(client, "maire", PASSWORD).status_code == 429


def test_security_headers_on_pages_errors_and_static_files(agent):
    for path in ["/", "/login", "/health", "/nope"]:
        headers = agent.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
    assert agent.get("/").headers["Cache-Control"] == "no-store"
    html = agent.get("/zone/mairie/bureaux").get_data(as_text=True)
    for src in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        response = agent.get(src)
        assert response.status_code == 200, src
        assert "max-age=31536000" in response.headers["Cache-Control"]


def test_no_inline_script_or_style_on_any_page(app, admin):
    for path in _get_paths(app):
        if path in {"/metrics", "/health"}:
            continue
        html = admin.get(path).get_data(as_text=True)
        for tag in re.findall(r"<script[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (path, tag)
        assert " style=" not in html, path
        assert "<style" not in html, path
        assert not re.search(r"<[^>]+\son[a-z]+=", html), path  # no inline event handlers


def test_logout_ends_the_session(agent):
    token = csrf(agent, "/")
    response = agent.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert agent.get("/").status_code == 302


def test_a_removed_user_or_changed_password_ends_other_sessions(agent, village):
    village["users"].set_password("secretaire", "un-tout-nouveau-mot")
    assert agent.get("/").status_code == 302
    login(agent, "secretaire", "un-tout-nouveau-mot")
    assert agent.get("/").status_code == 200
    village["users"].remove("secretaire")
    assert agent.get("/").status_code == 302


def test_agents_cannot_manage_accounts_admins_can(agent, village):
    assert agent.get("/utilisateurs").status_code == 403
    token = csrf(agent, "/")
    response = agent.post(
        "/utilisateurs/ajouter",
        data={"add-csrf_token": token, "add-name": "pirate", "add-role": "admin", "add-password": "x" * 20},
    )
    assert response.status_code == 403
    assert village["users"].get("pirate") is None
    assert "Utilisateurs" not in agent.get("/").get_data(as_text=True)


def test_an_admin_adds_and_removes_an_account_and_it_is_logged(admin, village):
    token = csrf(admin, "/utilisateurs")
    bad = admin.post(
        "/utilisateurs/ajouter",
        data=form("add", token, name="Paul Dupont", role="agent", password="court"),
    )
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert "Minuscules, chiffres" in page
    assert "Au moins 10 caractères." in page
    taken = admin.post(
        "/utilisateurs/ajouter",
        data=form("add", token, name="secretaire", role="agent", password="x" * 12),
    )
    assert taken.status_code == 400
    assert "Ce nom est déjà pris." in taken.get_data(as_text=True)
    ok = admin.post(
        "/utilisateurs/ajouter",
        data=form("add", token, name="paul", role="agent", password="un-long-mot-de-passe"),
    )
    assert ok.status_code == 302
    assert village["users"].get("paul").role == "agent"
    assert admin.post("/utilisateurs/supprimer", data={"rm-csrf_token": token, "rm-name": "paul"}).status_code == 302
    assert village["users"].get("paul") is None
    own = admin.post("/utilisateurs/supprimer", data={"rm-csrf_token": token, "rm-name": "maire"})
    assert own.status_code == 302
    assert village["users"].get("maire") is not None
    log = admin.get("/journal").get_data(as_text=True)
    assert "Compte créé" in log
    assert "Compte supprimé" in log
    assert "paul" in log


def test_a_user_changes_their_own_password(agent, village):
    token = csrf(agent, "/password")
    wrong = agent.post("/password", data={"csrf_token": token, "current": "pas-le-bon", "new": "nouveau-mot-long"})
    assert wrong.status_code == 400
    assert "Mot de passe incorrect." in wrong.get_data(as_text=True)
    ok = agent.post("/password", data={"csrf_token": token, "current": PASSWORD, "new": "nouveau-mot-long"})
    assert ok.status_code == 302
    assert agent.get("/").status_code == 200  # this session stays valid
    assert village["users"].authenticate("secretaire", "nouveau-mot-long") is not None
