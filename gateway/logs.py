"""Logging to stdout, one line per state change, in a form journald and people both read."""

from __future__ import annotations

import logging
import os
import sys


class _Formatter(logging.Formatter):
    """``LEVEL logger: message``; journald adds the time, a terminal gets it prefixed."""

    def __init__(self, *, with_time: bool) -> None:
        fmt = "%(asctime)s " if with_time else ""
        super().__init__(fmt + "%(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")


def setup_logging(level: str = "info") -> None:
    """Configure the root logger once; under systemd (JOURNAL_STREAM set) omit our own time."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_Formatter(with_time="JOURNAL_STREAM" not in os.environ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("pymodbus", "apscheduler", "waitress", "urllib3", "bleak"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
