"""Slow the attacker, not the agent: failed logins delay the (account, client) that made them, a
browser the agent logged in from keeps working, X-Forwarded-For counts only from the trusted proxy,
and a global ceiling holds. Web stories against a real waitress server; the guard's curve as a unit.

Story: someone on the mairie's public Wi-Fi (behind the same reverse proxy as the secretary's PC)
tries passwords on the secretary's account all afternoon; she must still log in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.web.login_guard import LoginGuard
from tests.support.raw_http import send
from tests.web.conftest import PASSWORD

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Client:
    """One browser: its own cookies, and (optionally) the address a proxy says it came from."""

    def __init__(self, port: int, *, forwarded_for: str | None = None) -> None:
        self.port = port
        self.forwarded_for = forwarded_for
        self.cookies: dict[str, str] = {}

    def _send(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        if self.forwarded_for:
            headers["X-Forwarded-For"] = self.forwarded_for
        status, answer, text = send(self.port, method, path, headers, form)
        for value in answer.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return status, dict(answer), text

    def login(self, name: str, password: str) -> tuple[int, dict[str, str]]:
        status, _, html = self._send("GET", "/login")
        match = _TOKEN.search(html)
        assert status == 200
        assert match
        status, headers, _ = self._send("POST", "/login", {"csrf_token": match.group(1), "name": name, "password": password})
        if status == 302:  # log out again: the next login of this browser starts like a new day
            self.cookies.pop("vg_session", None)
        return status, headers


@pytest.fixture
def proxied(app: Any) -> Iterator[Any]:
    """The app behind waitress configured with ``trusted_proxy = 127.0.0.1`` (the test is the proxy)."""
    from gateway.services.web import WebServer

    server = WebServer(app, host="127.0.0.1", port=0, threads=2, trusted_proxy="127.0.0.1")
    server.start()
    yield server
    server.stop()


def test_wrong_passwords_from_elsewhere_never_lock_the_agent_out(proxied, village):
    attacker = Client(proxied.port, forwarded_for="203.0.113.9")
    for _ in range(8):
        status, _ = attacker.login("secretaire", "devine-devine")
        assert status in {401, 429}
    assert attacker.login("secretaire", PASSWORD)[0] == 429  # the attacker is slowed, right password or not
    agent = Client(proxied.port, forwarded_for="192.0.2.10")
    assert agent.login("secretaire", PASSWORD)[0] == 302


def test_behind_one_address_a_browser_that_logged_in_before_keeps_working(served, village):
    # no trusted proxy: everyone has the proxy's address (127.0.0.1 here)
    agent = Client(served.port)
    assert agent.login("secretaire", PASSWORD)[0] == 302  # her PC now holds a device cookie
    attacker = Client(served.port)
    for _ in range(40):  # past the pair's, the address's and the account's free failures
        attacker.login("secretaire", "devine-devine")
        village["clock"].advance(400)  # waiting out every delay, the attacker gets one try per 5 min...
    assert attacker.login("secretaire", "devine-devine")[0] == 401
    status, headers = attacker.login("secretaire", "devine-devine")
    assert status == 429
    assert int(headers["Retry-After"]) == 300
    assert agent.login("secretaire", PASSWORD)[0] == 302  # ...and the agent's browser is not slowed


def test_a_forged_forwarded_for_from_an_untrusted_peer_is_ignored(served):
    statuses = []
    for i in range(6):  # free=3: a new "address" each try would never be slowed if the header counted
        statuses.append(Client(served.port, forwarded_for=f"198.51.100.{i}").login("secretaire", "devine-devine")[0])
    assert statuses[:3] == [401, 401, 401]
    assert 429 in statuses[3:]


def test_a_device_cookie_is_only_good_for_its_own_account_and_cannot_be_forged(served):
    agent = Client(served.port)
    assert agent.login("secretaire", PASSWORD)[0] == 302
    device = agent.cookies["vg_device"]
    forged = Client(served.port)
    forged.cookies["vg_device"] = device[:-4] + "AAAA"
    for _ in range(3):
        forged.login("secretaire", "devine-devine")
    assert forged.login("secretaire", PASSWORD)[0] == 429  # treated as an unknown browser
    other = Client(served.port)
    other.cookies["vg_device"] = device  # her cookie does not shield another account's attacker
    for _ in range(3):
        other.login("maire", "devine-devine")
    assert other.login("maire", PASSWORD)[0] == 429


def test_the_delay_doubles_up_to_the_cap_and_a_success_clears_the_pair():
    now = [0.0]
    guard = LoginGuard(free=3, base_s=1, max_delay_s=300, monotonic=lambda: now[0])
    waits = []
    for _ in range(14):
        guard.failure("marie", "addr:a")
        waits.append(guard.wait("marie", "addr:a"))
    assert waits[:2] == [0, 0]
    assert waits[2:11] == [1, 2, 4, 8, 16, 32, 64, 128, 256]
    assert waits[11:] == [300, 300, 300]
    assert guard.wait("marie", "addr:b", trusted=True) == 0  # another browser of hers
    # another account from the same address: the address's own count (14 failures, slowed from 12)
    assert guard.wait("pierre", "addr:a") == 4
    assert guard.wait("pierre", "addr:c") == 0
    now[0] = 300.0
    guard.success("marie", "addr:a")
    assert guard.wait("marie", "addr:a") == 0


def test_a_global_ceiling_stops_a_spread_out_flood_but_not_known_devices():
    now = [0.0]
    guard = LoginGuard(free=5, global_per_min=30, monotonic=lambda: now[0])
    for i in range(30):
        guard.failure(f"name{i}", f"addr:{i}")
    assert guard.wait("marie", "addr:new") == pytest.approx(60)
    assert guard.wait("marie", "device:her-pc", trusted=True) == 0
    now[0] = 61.0
    assert guard.wait("marie", "addr:new") == 0


def test_the_guard_stays_bounded_under_a_flood_of_names():
    guard = LoginGuard(free=1, max_keys=100, monotonic=lambda: 0.0, global_per_min=10**9)
    for i in range(5000):
        guard.failure(f"flood-{i}", f"addr:{i}")
    assert len(guard._counts) <= 100
