"""Logs for journald: a ``<priority>`` prefix on every line when stdout is the journal stream,
no own timestamp; a terminal gets ``HH:MM:SS LEVEL logger: message``; levels configurable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import logging, sys
from gateway.logs import setup_logging
setup_logging(sys.argv[1])
log = logging.getLogger("gateway.test")
log.debug("a debug line")
log.info("started")
log.warning("sink down")
log.error("reload refused:\\nfile:3: site.id: bad\\nfile:9: x: unknown key")
logging.getLogger("pymodbus").info("chatty library")
"""


def run_logging(tmp_path: Path, level: str, *, journal: bool) -> str:
    out = tmp_path / "stdout"
    with open(out, "wb") as handle:
        env = dict(os.environ)
        env.pop("JOURNAL_STREAM", None)
        if journal:  # what systemd sets: the device and inode of the stream it gave us
            st = os.fstat(handle.fileno())
            env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        subprocess.run([sys.executable, "-c", SCRIPT, level], stdout=handle, env=env, check=True)
    return out.read_text()


def test_journald_lines_carry_their_priority(tmp_path: Path) -> None:
    lines = run_logging(tmp_path, "info", journal=True).splitlines()
    assert lines == [
        "<6>INFO gateway.test: started",
        "<4>WARNING gateway.test: sink down",
        "<3>ERROR gateway.test: reload refused:",
        "<3>file:3: site.id: bad",
        "<3>file:9: x: unknown key",
    ]


def test_terminal_lines_have_a_time_and_debug_is_configurable(tmp_path: Path) -> None:
    lines = run_logging(tmp_path, "debug", journal=False).splitlines()
    assert lines[0].endswith("DEBUG gateway.test: a debug line")
    assert lines[0][2] == ":"
    assert lines[0][5] == ":"  # HH:MM:SS prefix
    assert not any(line.startswith("<") for line in lines)
    assert not any("chatty library" in line for line in lines)  # libraries stay at warning


def test_a_journal_stream_that_is_not_our_stdout_is_ignored(tmp_path: Path) -> None:
    out = tmp_path / "stdout"
    with open(out, "wb") as handle:
        env = {**os.environ, "JOURNAL_STREAM": "1:1"}  # inherited from a parent service, not ours
        subprocess.run([sys.executable, "-c", SCRIPT, "warning"], stdout=handle, env=env, check=True)
    lines = out.read_text().splitlines()
    assert lines[0].endswith("WARNING gateway.test: sink down")
    assert not lines[0].startswith("<")
