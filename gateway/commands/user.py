"""``village-gateway user add|list|remove|passwd``: the admin page's accounts.

Rules: no password ever appears on the command line (it would be in the shell history and
``ps``): it is typed twice at a prompt, or read from standard input with ``--password-stdin``
(for install scripts). Nothing secret is printed. The accounts live in ``users.json`` of the
state directory (from ``--config`` or ``--state-dir``); the running daemon sees changes at once.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

DEFAULT_CONFIG = Path("/etc/village-gateway/gateway.toml")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--config", type=Path, help=f"configuration file (default {DEFAULT_CONFIG})")
    where.add_argument("--state-dir", type=Path, help="state directory holding users.json")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="create an account")
    add.add_argument("name")
    add.add_argument("--role", choices=["agent", "admin"], required=True)
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    actions.add_parser("list", help="list the accounts (names and roles)")
    remove = actions.add_parser("remove", help="delete an account")
    remove.add_argument("name")
    passwd = actions.add_parser("passwd", help="set an account's password")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from standard input")


def _state_dir(args: argparse.Namespace) -> Path | None:
    if args.state_dir:
        return Path(args.state_dir)
    from gateway.commands._config import load_or_report

    config = load_or_report(args.config or DEFAULT_CONFIG)
    return None if config is None else Path(config.service.state_dir)


def _password(from_stdin: bool) -> str | None:
    if from_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n") or None
    if not sys.stdin.isatty():
        print("no terminal to ask the password on: use --password-stdin", file=sys.stderr)
        return None
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        print("the two passwords differ", file=sys.stderr)
        return None
    return first


def run(args: argparse.Namespace) -> int:
    from gateway.users import UserError, UserStore

    state_dir = _state_dir(args)
    if state_dir is None:
        return 2
    store = UserStore.in_state_dir(state_dir)
    try:
        if args.action == "list":
            for user in store.users():
                print(f"{user.name}\t{user.role}\t{user.created}")
            return 0
        if args.action == "remove":
            store.remove(args.name)
            print(f"user {args.name} removed")
            return 0
        password = _password(args.password_stdin)
        if password is None:
            print("no password given; nothing changed", file=sys.stderr)
            return 1
        if args.action == "add":
            store.add(args.name, args.role, password)
            print(f"user {args.name} added ({args.role})")
        else:
            store.set_password(args.name, password)
            print(f"password of {args.name} changed")
        return 0
    except UserError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
