"""The user store when its file cannot be written (a faulting write; the real full disk is in
tests/integration/test_users_disk_full.py): what is held in memory, what voids it, and durability."""

from __future__ import annotations

import errno
import json
import os
import stat
import time
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from gateway.users import MAX_SESSIONS, UserError, UsersFileError, UserStore

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "mot-de-passe-solide"


class Disk:
    """``fsync`` of the accounts file's new copy fails with ENOSPC while ``full`` (as ext4 reports a
    full card with delayed allocation): the rename never happens."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = False
        real = os.fsync

        def fsync(fd: int) -> None:
            if self.full and os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith(".users-"):
                raise OSError(errno.ENOSPC, "No space left on device")
            real(fd)

        monkeypatch.setattr(os, "fsync", fsync)


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> Disk:
    return Disk(monkeypatch)


@pytest.fixture
def store(tmp_path: Path) -> UserStore:
    store = UserStore(tmp_path / "users.json", hasher=FAST, retry_s=3600)  # no retry unless asked
    store.add("secretaire", "agent", PASSWORD)
    store.add("maire", "admin", PASSWORD)
    return store


def in_file(store: UserStore, name: str) -> int:
    return len(json.loads(store.path.read_text())["users"][name].get("sessions", {}))


def test_a_held_login_is_void_once_another_process_changed_the_password(store, disk, tmp_path):
    disk.full = True
    token = store.open_session("secretaire")
    assert store.session_user("secretaire", token) is not None
    # the CLI (another process, its own store) changes the password; it found room for its file
    disk.full = False
    UserStore(tmp_path / "users.json", hasher=FAST).set_password("secretaire", "un-autre-mot-de-passe")
    # the held session ends, as a written one would have, and is never written afterwards
    assert store.session_user("secretaire", token) is None
    assert store.flush() is True
    assert in_file(store, "secretaire") == 0
    assert store.unsaved() is None


def test_the_password_change_that_asked_for_it_keeps_its_held_session(store, disk):
    disk.full = True
    token = store.open_session("secretaire")
    disk.full = False
    store.set_password("secretaire", "un-autre-mot-de-passe", keep_session=token)  # the held one merged first
    assert store.session_user("secretaire", token) is not None
    assert in_file(store, "secretaire") == 1


def test_logging_out_of_a_held_login_ends_it_and_leaves_nothing_to_write(store, disk):
    disk.full = True
    token = store.open_session("maire")
    store.close_session("maire", token)
    assert store.session_user("maire", token) is None
    assert store.unsaved() is None  # nothing was written, nothing is to write


def test_a_logout_is_never_undone_by_a_later_write(store, disk):
    token = store.open_session("secretaire")  # written
    disk.full = True
    store.close_session("secretaire", token)
    assert in_file(store, "secretaire") == 1  # still in the file...
    assert store.session_user("secretaire", token) is None  # ...but ended
    disk.full = False
    other = store.open_session("maire")  # the next write carries the logout with it
    assert in_file(store, "secretaire") == 0
    assert store.session_user("maire", other) is not None
    assert store.unsaved() is None


def test_held_logins_are_bounded_like_written_ones(store, disk):
    disk.full = True
    tokens = [store.open_session("maire") for _ in range(MAX_SESSIONS + 5)]
    assert store.unsaved().logins == MAX_SESSIONS
    assert store.session_user("maire", tokens[0]) is None  # the oldest forgotten
    assert store.session_user("maire", tokens[-1]) is not None


def test_an_account_change_on_a_full_disk_is_refused_and_changes_nothing(store, disk):
    disk.full = True
    before = store.path.read_bytes()
    with pytest.raises(UsersFileError, match=r"cannot write .*users.json: No space left on device; nothing changed"):
        store.add("agent2", "agent", PASSWORD)
    with pytest.raises(UserError):  # the CLI and the web page catch UserError
        store.remove("secretaire")
    assert store.path.read_bytes() == before
    assert store.unsaved() is None  # nothing held: an account change is all or nothing


def test_a_login_needing_a_rehash_on_a_full_disk_still_logs_in(tmp_path, disk):
    UserStore(tmp_path / "users.json", hasher=PasswordHasher(time_cost=1, memory_cost=2048)).add(
        "maire", "admin", PASSWORD
    )
    disk.full = True
    store = UserStore(tmp_path / "users.json", hasher=FAST)  # other parameters: the hash wants renewing
    assert store.authenticate("maire", PASSWORD) is not None


def test_the_retry_writes_what_is_held_with_nobody_asking(tmp_path, disk):
    store = UserStore(tmp_path / "users.json", hasher=FAST, retry_s=0.05)
    store.add("maire", "admin", PASSWORD)
    disk.full = True
    token = store.open_session("maire")
    time.sleep(0.2)  # a few retries fail
    assert store.unsaved().logins == 1
    disk.full = False
    deadline = time.monotonic() + 5
    while store.unsaved() is not None:
        assert time.monotonic() < deadline, "the held login was never written"
        time.sleep(0.02)
    assert in_file(store, "maire") == 1
    assert UserStore(tmp_path / "users.json", hasher=FAST).session_user("maire", token) is not None


def test_the_directory_is_synced_after_the_rename(store, monkeypatch):
    """Without it a power cut right after a login can bring the old file back (the rename lost)."""
    calls: list[str] = []
    real_replace, real_fsync = os.replace, os.fsync

    def replace(src, dst):
        calls.append(f"replace {Path(dst).name}")
        real_replace(src, dst)

    def fsync(fd):
        calls.append("fsync directory" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "fsync", fsync)
    store.open_session("maire")
    assert calls == ["fsync file", "replace users.json", "fsync directory"]
