"""Sessions end server-side: an old cookie replayed after logout, a password or role change, or the
account's removal opens nothing. Against a real waitress server, with raw HTTP and cookies kept by hand
(what someone who copied the cookie would do).

Story: the secretary logs out at the end of the day on the mairie's shared PC; someone who copied her
cookie earlier tries to book the hall with it that evening.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.users import MAX_SESSIONS, SESSION_MAX_AGE_S, UserStore
from tests.support.raw_http import send
from tests.web.conftest import FAST_HASHER, PASSWORD

_TOKEN = re.compile(r'name="(?:[\w-]+-)?csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """One HTTP client with its own cookie, against the served app."""

    def __init__(self, port: int, cookie: str = "") -> None:
        self.port = port
        self.cookie = cookie

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        """``(status, Location, body)``; the session cookie follows the server's Set-Cookie."""
        headers = {"Cookie": f"vg_session={self.cookie}"} if self.cookie else {}
        status, answer, text = send(self.port, method, path, headers, form)
        for value in answer.get_all("Set-Cookie") or []:
            match = re.match(r"vg_session=([^;]*)", value)
            if match:
                self.cookie = match.group(1)
        return status, answer.get("Location", ""), text

    def token(self, path: str) -> str:
        status, _, html = self.request("GET", path)
        assert status == 200, (path, status)
        match = _TOKEN.search(html)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def login(self, name: str, password: str = PASSWORD) -> None:
        token = self.token("/login")
        status, _, _ = self.request("POST", "/login", {"csrf_token": token, "name": name, "password": password})
        assert status == 302, status

    def logged_in(self) -> bool:
        status, location, _ = self.request("GET", "/zone/salle/grande_salle")
        assert status in {200, 302}
        return status == 200 and "/login" not in location


def test_an_old_cookie_replayed_after_logout_opens_nothing(served, village):
    secretary = Browser(served.port)
    secretary.login("secretaire")
    assert secretary.logged_in()
    copied = secretary.cookie
    token = secretary.token("/")
    assert secretary.request("POST", "/logout", {"csrf_token": token})[0] == 302
    thief = Browser(served.port, copied)
    assert not thief.logged_in()
    # and cannot write either, even with a token the page rendered before the logout
    booking = {"ov-csrf_token": token, "ov-label": "Fête", "ov-start": "2026-11-27T20:00",
               "ov-end": "2026-11-27T23:00", "ov-mode": "confort"}  # fmt: skip
    status, _, _ = thief.request("POST", "/zone/salle/grande_salle/override", booking)
    assert status in {302, 400}  # to the login page, or "form expired": the token died with the session
    assert village["control"].zone("salle", "grande_salle").overrides == ()


def test_a_password_change_ends_every_other_session_and_keeps_this_one(served, village):
    office, phone = Browser(served.port), Browser(served.port)
    office.login("secretaire")
    phone.login("secretaire")
    token = office.token("/password")
    form = {"csrf_token": token, "current": PASSWORD, "new": "un-tout-nouveau-mot"}
    assert office.request("POST", "/password", form)[0] == 302
    assert office.logged_in()
    assert not phone.logged_in()


@pytest.mark.parametrize(
    "change",
    [
        lambda users: users.set_password("secretaire", "change-par-la-ligne-de-commande"),
        lambda users: users.set_role("secretaire", "admin"),
        lambda users: users.remove("secretaire"),
    ],
    ids=["password (CLI)", "role", "removed"],
)
def test_account_changes_end_the_accounts_sessions_at_once(served, village, change):
    agent = Browser(served.port)
    agent.login("secretaire")
    other = Browser(served.port)
    other.login("maire")
    change(village["users"])
    assert not agent.logged_in()
    assert other.logged_in()  # other accounts are not affected


def test_the_user_store_is_written_on_login_and_logout_only(served, village):
    path = Path(village["users"].path)
    agent = Browser(served.port)
    agent.login("secretaire")
    before = (path.stat().st_ino, path.stat().st_mtime_ns)
    for _ in range(5):
        assert agent.logged_in()
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == before
    assert agent.request("POST", "/logout", {"csrf_token": agent.token("/")})[0] == 302
    assert path.stat().st_ino != before[0]  # replaced atomically by the logout


def test_sessions_are_bounded_per_account_and_expire_server_side(tmp_path):
    wall = [1_000_000.0]
    store = UserStore(tmp_path / "users.json", hasher=FAST_HASHER, wall=lambda: wall[0])
    store.add("marie", "agent", PASSWORD)
    tokens = []
    for _ in range(MAX_SESSIONS + 2):
        tokens.append(store.open_session("marie"))
        wall[0] += 1
    assert store.session_user("marie", tokens[0]) is None  # the oldest were forgotten
    assert store.session_user("marie", tokens[1]) is None
    assert all(store.session_user("marie", t) is not None for t in tokens[2:])
    assert store.session_user("marie", "forged") is None
    assert store.session_user("personne", tokens[-1]) is None
    text = (tmp_path / "users.json").read_text()
    assert tokens[-1] not in text  # only digests are kept
    wall[0] += SESSION_MAX_AGE_S
    assert store.session_user("marie", tokens[-1]) is None
    store.close_session("marie", tokens[-1])  # nothing to do, no error
