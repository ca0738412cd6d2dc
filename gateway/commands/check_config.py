"""``village-gateway check-config FILE``: exit 0 when valid, 2 with one line per problem."""

from __future__ import annotations

import argparse
import sys

HELP = "validate a configuration file (exit 0 when valid, 2 otherwise)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="configuration file (TOML)")


def run(args: argparse.Namespace) -> int:
    from gateway.config import load_config
    from gateway.errors import ConfigError

    try:
        config = load_config(args.file)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    devices = sum(len(bus.devices) for bus in config.buses.values())
    zones = sum(len(b.zones) for b in config.buildings.values())
    print(
        f"{args.file}: OK — site {config.site.id!r}, {len(config.buildings)} buildings, {zones} zones, "
        f"{len(config.buses)} buses, {devices} meters, {len(config.sinks)} sinks"
    )
    return 0
