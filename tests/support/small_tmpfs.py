"""Run a test script on a really full disk: a small tmpfs as its state directory.

The tmpfs is mounted in a private mount namespace (``unshare``: nothing changes outside the test), so the
script meets the operating system's own ENOSPC, as on a full SD card.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.procs import ROOT


def run_on_small_tmpfs(
    state: Path, module: str, *, size: str, timeout: float, keep_log: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m <module> <state>`` with ``state`` (created here) a tmpfs of ``size`` (``"4m"``...);
    ``keep_log``: where ``state/daemon.log`` is copied before the tmpfs goes away."""
    unshare = shutil.which("unshare")
    assert unshare, "util-linux's unshare is needed (Debian: essential package util-linux)"
    state.mkdir()
    shell = f'mount -t tmpfs -o size={size} tmpfs "{state}" && "{sys.executable}" -m {module} "{state}"'
    if keep_log is not None:
        shell += f'; rc=$?; cp "{state}/daemon.log" "{keep_log}"; exit $rc'
    return subprocess.run(
        [unshare, "--map-root-user", "--mount", "sh", "-c", shell],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
