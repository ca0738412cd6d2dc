"""Accounts: argon2 hashes in a 0600 file, no default password, roles, throttling, the ``user`` command."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from gateway.cli import main
from gateway.users import UserError, UserStore, ensure_demo_user
from tests.web.conftest import FAST_HASHER


@pytest.fixture
def store(tmp_path: Path) -> UserStore:
    return UserStore.in_state_dir(tmp_path, hasher=FAST_HASHER)


def test_a_fresh_gateway_has_no_account_at_all(store):
    assert store.users() == []
    assert store.authenticate("admin", "admin") is None
    assert store.authenticate("admin", "") is None


def test_an_added_user_logs_in_with_their_password_only(store):
    store.add("marie", "agent", "correct horse battery")
    assert store.authenticate("marie", "correct horse battery").role == "agent"
    assert store.authenticate("marie", "correct horse batterY") is None
    assert store.authenticate("pierre", "correct horse battery") is None


def test_the_file_holds_argon2id_hashes_never_the_password_and_is_private(store, tmp_path):
    store.add("marie", "admin", "correct horse battery")
    text = (tmp_path / "users.json").read_text()
    assert "correct horse battery" not in text
    assert json.loads(text)["users"]["marie"]["hash"].startswith("$argon2id$")
    assert stat.S_IMODE((tmp_path / "users.json").stat().st_mode) == 0o600


def test_the_default_hasher_is_memory_hard(tmp_path):
    hashed = UserStore(tmp_path / "u.json")._hasher.hash("x" * 12)
    params = dict(p.split("=") for p in hashed.split("$")[3].split(","))
    assert hashed.startswith("$argon2id$")
    assert int(params["m"]) >= 65536


@pytest.mark.parametrize(
    ("name", "role", "password", "field"),
    [
        ("Marie", "agent", "long enough password", "name"),
        ("marie dupont", "agent", "long enough password", "name"),
        ("marie\n", "agent", "long enough password", "name"),  # `$` alone lets a trailing newline through
        ("marie", "maire", "long enough password", "role"),
        ("marie", "agent", "short", "password"),
    ],
)
def test_bad_accounts_are_refused_with_the_field_at_fault(store, name, role, password, field):
    with pytest.raises(UserError) as err:
        store.add(name, role, password)
    assert err.value.field == field
    assert store.users() == []


def test_duplicates_unknown_users_and_the_last_admin_are_protected(store):
    store.add("marie", "admin", "long enough password")
    with pytest.raises(UserError, match="already exists"):
        store.add("marie", "agent", "another long password")
    with pytest.raises(UserError, match="no user"):
        store.remove("pierre")
    with pytest.raises(UserError, match="last admin"):
        store.set_role("marie", "agent")


def test_a_password_change_takes_effect_and_an_old_weak_hash_is_upgraded(tmp_path):
    weak = UserStore(tmp_path / "users.json", hasher=PasswordHasher(time_cost=1, memory_cost=512, parallelism=1))
    weak.add("marie", "agent", "first long password")
    strong = UserStore(tmp_path / "users.json", hasher=FAST_HASHER)
    assert strong.authenticate("marie", "first long password") is not None  # verified, then rehashed
    assert "m=1024" in strong.get("marie").password_hash
    strong.set_password("marie", "second long password")
    assert strong.authenticate("marie", "first long password") is None
    assert strong.authenticate("marie", "second long password") is not None


def test_the_demo_account_gets_a_new_random_password_each_time(tmp_path):
    name, first = ensure_demo_user(tmp_path, hasher=FAST_HASHER)
    _, second = ensure_demo_user(tmp_path, hasher=FAST_HASHER)
    store = UserStore.in_state_dir(tmp_path, hasher=FAST_HASHER)
    assert name == "demo"
    assert first != second
    assert len(second) >= 16
    assert store.authenticate("demo", first) is None
    assert store.authenticate("demo", second).role == "admin"


def test_user_command_adds_lists_changes_and_removes_without_printing_secrets(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\n"))
    assert main(["user", "--state-dir", str(tmp_path), "add", "marie", "--role", "admin", "--password-stdin"]) == 0
    assert main(["user", "--state-dir", str(tmp_path), "list"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["user", "--state-dir", str(tmp_path), "passwd", "marie", "--password-stdin"]) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO("another long secret\n"))
    assert main(["user", "--state-dir", str(tmp_path), "passwd", "marie", "--password-stdin"]) == 0
    out = capsys.readouterr()
    assert "marie\tadmin" in out.out
    assert "secret" not in out.out + out.err
    assert "at least 10 characters" in out.err
    assert UserStore.in_state_dir(tmp_path).authenticate("marie", "another long secret") is not None
    assert main(["user", "--state-dir", str(tmp_path), "remove", "marie"]) == 0
    assert main(["user", "--state-dir", str(tmp_path), "remove", "marie"]) == 1


def test_user_command_refuses_without_a_terminal_or_stdin_password(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["user", "--state-dir", str(tmp_path), "add", "marie", "--role", "agent"]) == 1
    assert "--password-stdin" in capsys.readouterr().err
    assert UserStore.in_state_dir(tmp_path).users() == []


def test_user_command_reads_the_state_dir_from_the_config(tmp_path, monkeypatch):
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[site]\nid = "v"\nname = "V"\nlatitude = 47\nlongitude = 1\n[service]\nstate_dir = "state"\n',
        encoding="utf-8",
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough secret\n"))
    assert main(["user", "--config", str(config), "add", "paul", "--role", "agent", "--password-stdin"]) == 0
    assert (tmp_path / "state" / "users.json").exists()
