"""The accounts file on a really full disk: ``python -m tests.support.users_disk_full STATE``.

Run inside a private mount namespace where ``STATE`` is a small tmpfs (see
``tests/integration/test_users_disk_full.py``). Story: the secretary is logged in; the card
fills up; the mayor logs in, the secretary logs out, an admin tries to change a password; space
is freed and nobody does anything. Prints one JSON object of what was seen at each step.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher

from tests.support.disk_full_stop import fill

PASSWORD = "mot-de-passe-solide"


def sessions_in_file(path: Path) -> dict[str, int]:
    users = json.loads(path.read_text(encoding="utf-8"))["users"]
    return {name: len(entry.get("sessions", {})) for name, entry in users.items()}


def main(argv: list[str]) -> int:
    from gateway.users import UserError, UserStore

    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    state = Path(argv[0])
    store = UserStore(state / "users.json", hasher=PasswordHasher(time_cost=1, memory_cost=1024), retry_s=0.2)
    store.add("secretaire", "agent", PASSWORD)
    store.add("maire", "admin", PASSWORD)
    out: dict[str, Any] = {}
    secretary = store.open_session("secretaire")
    before = (state / "users.json").read_bytes()
    fill(state / "filler")
    try:
        (state / "probe").write_bytes(b"x" * 4096)
        out["disk_full"] = False
    except OSError as exc:
        out["disk_full"] = exc.strerror
    # the mayor logs in: a session the file cannot take
    try:
        mayor = store.open_session("maire")
    except Exception as exc:  # what a full disk once did: nobody could log in
        out["login"] = f"{type(exc).__name__}: {exc}"
        print(json.dumps(out))
        return 0
    out["login"] = "ok"
    out["mayor_logged_in"] = store.session_user("maire", mayor) is not None
    # the secretary logs out: her session ends now, though the file still lists it
    try:
        store.close_session("secretaire", secretary)
        out["logout"] = "ok"
    except Exception as exc:
        out["logout"] = f"{type(exc).__name__}: {exc}"
    out["secretary_logged_in"] = store.session_user("secretaire", secretary) is not None
    out["file_unchanged"] = (state / "users.json").read_bytes() == before
    # an account change cannot be held: refused, nothing changed
    try:
        store.set_password("secretaire", "un-autre-mot-de-passe")
        out["password_change"] = "accepted"
    except UserError as exc:
        out["password_change"] = str(exc)
    out["password_unchanged"] = store.authenticate("secretaire", PASSWORD) is not None
    status = store.unsaved()
    out["unsaved"] = None if status is None else [status.logins, status.logouts, status.error]
    out["temp_files_left"] = sorted(p.name for p in state.iterdir() if p.name.startswith(".users-"))
    # space comes back; nobody touches the page: the retry writes what was held
    (state / "filler").unlink()
    deadline = time.monotonic() + 10
    while store.unsaved() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    out["unsaved_after"] = store.unsaved()
    out["sessions_after"] = sessions_in_file(state / "users.json")
    out["mayor_after"] = store.session_user("maire", mayor) is not None
    out["secretary_after"] = store.session_user("secretaire", secretary) is not None
    # what another process (a restart) reads from the file now
    fresh = UserStore(state / "users.json", hasher=PasswordHasher(time_cost=1, memory_cost=1024))
    out["restart_mayor"] = fresh.session_user("maire", mayor) is not None
    out["restart_secretary"] = fresh.session_user("secretaire", secretary) is not None
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
