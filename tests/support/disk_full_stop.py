"""The real daemon stopped while its disk is full: ``python -m tests.support.disk_full_stop STATE``.

Run inside a private mount namespace where ``STATE`` is a small tmpfs (see
``tests/integration/test_disk_full_stop.py``): the first life runs with the synthetic source,
the file system is filled to the last byte, the daemon keeps running a moment (every commit
fails), then gets SIGTERM. Space is freed and a second life starts and stops. Prints the exit
codes; the daemon's log is ``STATE/daemon.log``.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from tests.support.powercut import _start, _wait_ready, write_config


def fill(path: Path) -> None:
    """Take every byte left on the file system."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError:
        pass
    try:
        while True:
            os.write(fd, b"\0" * 512)
    except OSError:
        pass
    finally:
        os.close(fd)


def main(argv: list[str]) -> int:
    state = Path(argv[0])
    server = SimpleNamespace(url="http://127.0.0.1:9", database="none")  # a sink that never answers
    config = write_config(state, server, commit_interval_s=0.5)  # type: ignore[arg-type]
    log = state / "daemon.log"
    proc = _start(config, state, 1, 500, log)
    _wait_ready(state / "ready", 1, proc)
    time.sleep(1.5)
    fill(state / "filler")
    time.sleep(2.0)  # commits fail; readings pile up in memory
    proc.send_signal(signal.SIGTERM)
    print("first", proc.wait(timeout=60), flush=True)
    (state / "filler").unlink()
    proc = _start(config, state, 2, 0, log)
    _wait_ready(state / "ready", 2, proc)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    print("second", proc.wait(timeout=60), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
