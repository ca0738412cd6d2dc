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


def load_or_report(path: str | Path, *, preface: str | None = None) -> GatewayConfig | None:
    """The configuration at ``path``; ``None`` after printing ``preface`` (if any) and each problem to stderr."""
    from gateway.config import load_config
    from gateway.errors import ConfigError

    try:
        return load_config(path)
    except ConfigError as exc:
        if preface is not None:
            print(preface, file=sys.stderr)
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return None
