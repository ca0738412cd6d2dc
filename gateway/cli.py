"""``village-gateway`` command line: one module per subcommand in ``gateway/commands``.

Each command module defines ``add_arguments(parser)`` and ``run(args) -> int`` (the exit code);
its one-line help is in :data:`COMMANDS`. A module is imported only when its command runs (not
even for the list of commands), so ``check-config`` does not pay for pymodbus, bleak or Flask and
the daemon does not pay for the other commands.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: command name -> (module in gateway.commands, one-line help): the help lives here so that
#: ``village-gateway run`` imports no other command's module (each one's imports cost RSS on a Pi)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "run the gateway daemon on a configuration file"),
    "demo": ("demo", "run the gateway on the simulated village (admin page at http://127.0.0.1:8080)"),
    "check-config": ("check_config", "validate a configuration file (exit 0 when valid, 2 otherwise)"),
    "modbus-read": ("modbus_read", "read one Modbus meter once and print its values (commissioning)"),
    "ble-scan": (
        "ble_scan",
        "list the BLE devices heard and their decoded readings (or decode a recording with --replay)",
    ),
    "simulate": (
        "simulate",
        "simulate the rules against building models and baselines; print energy and comfort (what-if)",
    ),
    "user": ("user", "manage the admin page's accounts (add, list, remove, passwd)"),
    "doctor": (
        "doctor",
        "check config, devices, servers, clock, disk and permissions (exit 0 OK, 1 warnings, 2 failures)",
    ),
    "export": ("export", "export series (hourly archive or raw journal) as CSV or line protocol"),
    "report": (
        "report",
        "energy per building at equal climate (degree-days), as JSON, a yearly CSV or a printable HTML report",
    ),
    "public-page": (
        "public_page",
        "write the public page (public buildings' energy at equal climate) as a static HTML file",
    ),
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``village-gateway`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="village-gateway", description="Village energy gateway")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = argv[0] if argv and not argv[0].startswith("-") else None
    for name, (module_name, help_text) in COMMANDS.items():
        if wanted == name:
            module = importlib.import_module(f"gateway.commands.{module_name}")
            sub = commands.add_parser(name, help=help_text, description=help_text)
            module.add_arguments(sub)
            sub.set_defaults(handler=module.run)
        else:
            commands.add_parser(name, help=help_text, add_help=False)
    args = parser.parse_args(argv)
    if args.version:
        from gateway import __version__

        print(__version__)
        return 0
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
