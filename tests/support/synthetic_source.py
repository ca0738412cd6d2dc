"""A synthetic source for the power-cut proof: thousands of numbered points per second.

Test and benchmark only. Every point is ``meter,device=synth-K,site=... run=R,seq=N`` with a
unique timestamp; ``seq`` counts from 0 in each process life (``run``), so "which points did
the journal acknowledge?" is one number per life: the highest ``seq`` in a durably committed
batch. :class:`AckLog` records it from the journal's batch listener (called only after the
commit is durable) with one ``os.write`` per commit — a SIGKILL cannot lose what the kernel
already has; :class:`SyntheticSource` also records the highest ``seq`` it generated, so the
harness can say how many unacknowledged points a kill cost.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from pathlib import Path

from gateway.model import Reading
from gateway.service import StopPhase


class AckLog:
    """Appends ``"run max_seq\\n"`` after each durable commit that held synthetic points."""

    def __init__(self, path: Path, run: int) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._run = run

    def __call__(self, readings: Sequence[Reading]) -> None:
        top = -1
        for r in readings:
            if r.measurement == "meter":
                for key, value in r.fields:
                    if key == "seq" and isinstance(value, int) and value > top:
                        top = value
        if top >= 0:
            os.write(self._fd, f"{self._run} {top}\n".encode())


def read_acks(path: Path) -> dict[int, int]:
    """``run -> highest acknowledged seq`` from an :class:`AckLog` file (a torn last line is ignored)."""
    acks: dict[int, int] = {}
    if not path.exists():
        return acks
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and all(p.isdigit() for p in parts):
            run, seq = int(parts[0]), int(parts[1])
            acks[run] = max(acks.get(run, -1), seq)
    return acks


class SyntheticSource:
    """Publishes ``rate`` points per second in ticks of 10 ms through ``core.publish``."""

    name = "synthetic"
    stop_phase = StopPhase.PRODUCER

    def __init__(self, core: object, *, run: int, rate: int, generated_path: Path, devices: int = 20) -> None:
        self._core = core
        self._run = run
        self._rate = rate
        self._devices = devices
        self._fd = os.open(generated_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.seq = 0

    def prepare(self) -> None:
        """Nothing to set up."""

    async def run(self) -> None:
        site = self._core.config.site.id  # type: ignore[attr-defined]
        per_tick = max(1, self._rate // 100)
        next_tick = time.monotonic()
        while True:
            base = time.time_ns()
            for j in range(per_tick):
                seq = self.seq
                self._core.publish(  # type: ignore[attr-defined]
                    Reading.make(
                        "meter",
                        {"site": site, "device": f"synth-{seq % self._devices}"},
                        {"power_w": float(seq % 1000), "seq": seq, "run": self._run},
                        time_ns=base + j,
                    )
                )
                self.seq += 1
            os.write(self._fd, f"{self._run} {self.seq - 1}\n".encode())
            next_tick += 0.01
            await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
