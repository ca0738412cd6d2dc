"""The admin page while the accounts file cannot be written (issue 12): logging in and out still work,
and the Système page says what is held in memory. The disk is faulted at the fsync of the file's new copy (ENOSPC);
the really full file system is in tests/integration/test_users_disk_full.py."""

from __future__ import annotations

import errno
import os

import pytest

from tests.web.conftest import csrf, login


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    """ENOSPC from ``fsync`` of the accounts file's temporary copy, as ext4 reports a full card."""
    state = {"full": True}
    real = os.fsync

    def fsync(fd: int) -> None:
        if state["full"] and os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith(".users-"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return state


def test_login_and_logout_work_on_a_full_disk_and_the_system_page_says_so(client, village, full_disk):
    # Given a full disk, When the mayor logs in
    response = login(client, "maire")
    # Then he is in (before: a 500 error, nobody could log in until the disk was cleaned)
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    # And the Système page tells what is held in memory, and why
    page = client.get("/systeme").get_data(as_text=True)
    assert 'id="accounts-unsaved"' in page
    assert "gardées en mémoire seulement (connexions : 1, déconnexions : 0)" in page
    assert "No space left on device" in page
    copied = client.get_cookie("vg_session").value
    # When he logs out, Then the session ends at once (his old cookie opens nothing), though unwritten
    client.post("/logout", data={"csrf_token": csrf(client, "/")})
    client.set_cookie("vg_session", copied)
    assert client.get("/").status_code == 302
    # When the disk has room again and the store writes, Then the page no longer warns
    full_disk["full"] = False
    assert village["users"].flush() is True
    login(client, "maire")
    assert 'id="accounts-unsaved"' not in client.get("/systeme").get_data(as_text=True)


def test_removing_an_account_on_a_full_disk_says_why_and_changes_nothing(admin, village, full_disk):
    token = csrf(admin, "/utilisateurs")
    response = admin.post("/utilisateurs/supprimer", data={"rm-csrf_token": token, "rm-name": "secretaire"})
    assert response.status_code == 302  # back to the list, with the reason (before: a 500 page)
    page = admin.get("/utilisateurs").get_data(as_text=True)
    assert "No space left on device; nothing changed" in page
    assert village["users"].get("secretaire") is not None
