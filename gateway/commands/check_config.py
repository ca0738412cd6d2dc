"""``village-gateway check-config FILE``: exit 0 when valid, 2 with one line per problem.

A valid file may still draw warnings (``warning: FILE:LINE: path: reason`` on stderr, exit 0): choices a
person should know about, such as a heating fail-safe that risks frost (gateway/schema/config_warnings.py).
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="configuration file (TOML)")


def run(args: argparse.Namespace) -> int:
    import sys

    from gateway.commands._config import load_or_report
    from gateway.schema.config_warnings import located

    config = load_or_report(args.file)
    if config is None:
        return 2
    warnings = located(config, args.file)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    devices = sum(len(bus.devices) for bus in config.buses.values())
    zones = sum(len(b.zones) for b in config.buildings.values())
    print(
        f"{args.file}: OK — site {config.site.id!r}, {len(config.buildings)} buildings, {zones} zones, "
        f"{len(config.buses)} buses, {devices} meters, {len(config.sinks)} sinks"
        + (f", {len(warnings)} warnings (above)" if warnings else "")
    )
    return 0
