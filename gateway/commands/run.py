"""``village-gateway run --config FILE``: the daemon."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.config import GatewayConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, type=Path, help="configuration file (TOML)")
    parser.add_argument("--http", metavar="HOST:PORT", help="admin page address (overrides [web].listen)")
    parser.add_argument(
        "--log-level", choices=["debug", "info", "warning", "error"], help="override [service]"
    )


def run(args: argparse.Namespace) -> int:
    from gateway.commands._config import load_or_report
    from gateway.daemon import Daemon, RunOptions
    from gateway.logs import setup_logging

    config = load_or_report(args.config, preface="refusing to start: the configuration is invalid")
    if config is None:
        return 2
    setup_logging(args.log_level or config.service.log_level)
    _warn_at_start(config, args.config)
    daemon = Daemon(config, RunOptions(config_path=args.config, http=args.http))
    asyncio.run(daemon.run())
    from gateway.reload import reexec_if_requested

    reexec_if_requested(daemon)  # SIGHUP with a valid new configuration: same PID, new config
    return 0


def _warn_at_start(config: GatewayConfig, path: Path) -> None:
    """Say at start what ``check-config`` warns about the journal (a warning: the daemon starts)."""
    import logging

    from gateway.config_problems import located_in_file
    from gateway.schema.journal import buffer_warnings

    for problem in located_in_file(path, buffer_warnings(config)):
        logging.getLogger("gateway.config").warning("%s", problem)
