"""``village-gateway`` command line: one module per subcommand in ``gateway/commands``.

Each command module defines ``HELP`` (one line), ``add_arguments(parser)`` and
``run(args) -> int`` (the exit code). Modules are imported only when their command runs,
so ``check-config`` does not pay for pymodbus, bleak or Flask.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: command name -> module in gateway.commands
COMMANDS = {
    "run": "run",
    "demo": "demo",
    "check-config": "check_config",
    "modbus-read": "modbus_read",
    "ble-scan": "ble_scan",
    "simulate": "simulate",
    "user": "user",
    "doctor": "doctor",
    "export": "export",
    "report": "report",
    "public-page": "public_page",
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``village-gateway`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="village-gateway", description="Village energy gateway")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = argv[0] if argv and not argv[0].startswith("-") else None
    for name, module_name in COMMANDS.items():
        if wanted == name:
            module = importlib.import_module(f"gateway.commands.{module_name}")
            sub = commands.add_parser(name, help=module.HELP, description=module.HELP)
            module.add_arguments(sub)
            sub.set_defaults(handler=module.run)
        else:
            commands.add_parser(name, help=_help_of(module_name), add_help=False)
    args = parser.parse_args(argv)
    if args.version:
        from gateway import __version__

        print(__version__)
        return 0
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    return int(args.handler(args))


def _help_of(module_name: str) -> str:
    try:
        return str(importlib.import_module(f"gateway.commands.{module_name}").HELP)
    except ImportError:
        return "(unavailable)"


if __name__ == "__main__":
    sys.exit(main())
