"""Logging to stdout, one line per state change, in a form journald and people both read.

Under systemd (``$JOURNAL_STREAM`` set) each line starts with its syslog priority
(``<3>`` error, ``<4>`` warning, ``<6>`` info, ``<7>`` debug), which journald strips and
stores as ``PRIORITY`` — so ``journalctl -u village-gateway -p warning`` shows only problems —
and our own timestamp is left out (journald adds its own). Multi-line messages (a refused
configuration lists one problem per line) are sent as one line each, every line prefixed, so
none loses its priority. On a terminal: ``HH:MM:SS LEVEL logger: message``.
"""

from __future__ import annotations

import logging
import os
import sys

#: syslog priorities of Python levels (sd-daemon(3)).
_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}

NOISY = ("pymodbus", "apscheduler", "waitress", "urllib3", "bleak", "aiomqtt", "influxdb_client")


class _Formatter(logging.Formatter):
    """``LEVEL logger: message``; for journald, ``<priority>`` on every line instead of the time."""

    def __init__(self, *, journald: bool) -> None:
        self.journald = journald
        fmt = "" if journald else "%(asctime)s "
        super().__init__(fmt + "%(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if not self.journald:
            return text
        prefix = f"<{_PRIORITY.get(record.levelno, 6)}>"
        return "\n".join(prefix + line for line in text.splitlines() or [""])


def under_journald() -> bool:
    """Whether stdout is connected to the journal (systemd sets ``JOURNAL_STREAM``)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    if not stream:
        return False
    try:
        device, inode = (int(x) for x in stream.split(":"))
        st = os.fstat(sys.stdout.fileno())
    except (ValueError, OSError, AttributeError):
        return True
    return (st.st_dev, st.st_ino) == (device, inode)


def setup_logging(level: str = "info") -> None:
    """Configure the root logger once (again on re-exec); chatty libraries stay at warning."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_Formatter(journald=under_journald()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
