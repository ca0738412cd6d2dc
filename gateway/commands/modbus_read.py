"""``village-gateway modbus-read``: read one meter once, to commission it.

Prints ``{"profile": ..., "unit": N, "readings": {...}}`` with ``--json`` (missing values are
``null``), a table otherwise. Exit 0 when the meter answered, 1 when it did not, 2 on bad usage
(an unknown profile, or a profile file with a mistake: ``FILE:LINE: field: reason``).

``--profile`` is looked up as the daemon looks up a device's ``profile``
(:mod:`gateway.meter_profiles`): a path (from the current directory), then the ``profiles/``
folder beside ``--config``, then the shipped profiles; a profile file is validated exactly as
``run`` and ``check-config`` validate it, ``[bounds]`` included — ``--draft`` lets a map being
worked out leave ``[bounds]`` out (the daemon never accepts that).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

DEFAULT_CONFIG = Path("/etc/village-gateway/gateway.toml")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--host", help="Modbus TCP meter or TCP/RS-485 gateway")
    where.add_argument("--serial", metavar="DEVICE", help="serial port of an RS-485 line, e.g. /dev/ttyUSB0")
    parser.add_argument("--port", type=int, default=502, help="TCP port (default 502)")
    parser.add_argument("--baud", type=int, default=9600, help="serial speed (default 9600)")
    parser.add_argument("--parity", choices=["N", "E", "O"], default="N", help="serial parity (default N)")
    parser.add_argument("--stopbits", type=int, choices=[1, 2], default=1)
    parser.add_argument("--unit", type=int, required=True, help="Modbus device id (1..247)")
    parser.add_argument(
        "--profile", required=True, help="profile: a .toml file, a name in profiles/ beside --config, or a shipped name"
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        help=f"configuration whose profiles/ folder names are looked up in (default {DEFAULT_CONFIG})",
    )
    parser.add_argument("--draft", action="store_true", help="accept a profile file without [bounds] (trying a map)")
    parser.add_argument("--scale", type=float, help="pulse-counter: units of the quantity per count")
    parser.add_argument("--quantity", help="pulse-counter: water_m3, energy_import_kwh or energy_export_kwh")
    parser.add_argument("--timeout", type=float, default=1.0, help="seconds to wait for each reply")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from drivers.modbus import ReadError, RtuLink, TcpLink, read_once
    from drivers.modbus_profile import ProfileError
    from gateway.meter_profiles import is_path, load_meter_profile

    if not 1 <= args.unit <= 247:
        print(f"modbus-read: --unit must be 1..247, got {args.unit}", file=sys.stderr)
        return 2
    try:  # a path from here (the shell's directory); a name beside the configuration, or shipped
        base_dir = None if is_path(args.profile) else args.config.parent
        profile = load_meter_profile(args.profile, base_dir=base_dir, draft=args.draft)
        profile = profile.bind(quantity=args.quantity, scale=args.scale)
    except (ProfileError, OSError) as exc:
        print(f"modbus-read: {exc}", file=sys.stderr)
        return 2
    link: TcpLink | RtuLink = (
        TcpLink(args.host, args.port) if args.host else RtuLink(args.serial, args.baud, args.parity, args.stopbits)
    )
    import logging

    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # our one-line error says it better
    try:
        values = asyncio.run(read_once(link, unit=args.unit, profile=profile, timeout_s=args.timeout))
    except ReadError as exc:
        print(f"modbus-read: unit {args.unit} on {link} did not answer: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"profile": profile.name, "unit": args.unit, "readings": values}))
        return 0
    print(f"{profile.description} — unit {args.unit} on {link}")
    width = max(len(name) for name in values)
    for name, value in values.items():
        print(f"  {name:<{width}}  {'(not available)' if value is None else f'{value:.6g}'}")
    return 0
