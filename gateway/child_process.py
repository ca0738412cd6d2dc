"""Programs the gateway starts itself (the demo's MQTT broker; the test servers use it too).

Rule: a child is asked to stop (SIGTERM), given ``timeout_s`` to do so, then killed, and always waited
for, so that no zombie and no stray listener outlives its owner.
"""

from __future__ import annotations

import subprocess
from typing import Any


def stop(proc: subprocess.Popen[Any], *, timeout_s: float) -> None:
    """Terminate ``proc``, kill it if it is still there after ``timeout_s``, and reap it."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
