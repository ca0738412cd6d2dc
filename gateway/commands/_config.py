"""Loading the configuration for a subcommand: the configuration, or every problem on stderr.

Rules: no logging (a command's own output goes to stdout/stderr), the problems are printed as
:class:`gateway.errors.ConfigError` carries them (``file:line: path: reason``), one per line.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.config import GatewayConfig


def load_or_report(
    path: str | Path, *, preface: str | None = None, state_dir: Path | None = None
) -> GatewayConfig | None:
    """The configuration at ``path``; ``None`` after printing ``preface`` (if any) and each problem to stderr.

    ``state_dir`` (a command's ``--state-dir``), when given, stands in for ``[service] state_dir``."""
    from gateway.config import load_config
    from gateway.errors import ConfigError

    try:
        config = load_config(path)
    except ConfigError as exc:
        if preface is not None:
            print(preface, file=sys.stderr)
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return None
    if state_dir is None:
        return config
    return config.model_copy(update={"service": config.service.model_copy(update={"state_dir": state_dir})})


def archive_path(config: GatewayConfig) -> Path:
    """The hourly archive: ``[journal.archive] path``, else ``archive.sqlite`` in the state directory."""
    return config.journal.archive.path or config.service.state_dir / "archive.sqlite"


def existing_archive(command: str, config: GatewayConfig) -> Path | None:
    """The archive's path; ``None`` after saying on stderr that it does not exist yet."""
    path = archive_path(config)
    if not path.exists():
        print(f"{command}: {path} does not exist (has the gateway run yet? --state-dir?)", file=sys.stderr)
        return None
    return path
