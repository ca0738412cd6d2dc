"""The power-cut campaign shared by ``tests/integration/test_powercut.py`` and ``bench/powercut.py``.

Each cycle starts the real daemon (:mod:`tests.support.powercut_daemon`) on the same state
directory with the synthetic source, SIGKILLs it at a random moment (during start-up,
mid-commit, mid-upload...), and checks the journal file with SQLite's ``integrity_check``.
A last life without the source drains the backlog and stops cleanly (SIGTERM). Then the
server's contents are compared with what the journal acknowledged.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from gateway.journal_schema import last_id as journal_last_id
from tests.support.influx_servers import InfluxV1Server
from tests.support.synthetic_source import read_acks

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class CampaignReport:
    """What a campaign proved."""

    cycles: int = 0
    acknowledged: int = 0  # points the journal said were durable
    stored: int = 0  # synthetic points the server holds
    lost_acknowledged: int = 0  # must be 0
    duplicates: int = 0  # (run, seq) stored more than once; must be 0
    unacked_lost: list[int] = field(default_factory=list)  # per kill: generated but never committed
    integrity_failures: list[str] = field(default_factory=list)
    kill_after_s: list[float] = field(default_factory=list)

    def summary(self) -> str:
        lost = sorted(self.unacked_lost) or [0]
        return (
            f"{self.cycles} SIGKILLs; acknowledged {self.acknowledged}, stored {self.stored}, "
            f"acknowledged lost {self.lost_acknowledged}, duplicates {self.duplicates}, "
            f"integrity failures {len(self.integrity_failures)}; unacknowledged points lost per kill: "
            f"median {lost[len(lost) // 2]}, max {lost[-1]}"
        )


def write_config(state: Path, server: InfluxV1Server, *, commit_interval_s: float) -> Path:
    """The daemon's configuration: the journal in ``state``, one influx-v1 sink to ``server``."""
    config = state / "gateway.toml"
    config.write_text(f"""
[site]
id = "powercut"
name = "Power cut test"
latitude = 47.39
longitude = 0.98

[journal]
commit_interval_s = {commit_interval_s}

[service]
state_dir = "{state}"
log_level = "warning"

[sinks.central]
kind = "influx-v1"
url = "{server.url}"
database = "{server.database}"
flush_interval_s = 0.2
min_backoff_s = 0.1
max_backoff_s = 1.0
""")
    return config


def _start(config: Path, state: Path, run: int, rate: int, log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    try:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.powercut_daemon",
                str(config),
                str(state),
                str(run),
                str(rate),
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    finally:
        out.close()


def integrity(path: Path) -> str:
    """SQLite's verdict on the journal file (``ok`` when sound)."""
    if not path.exists():
        return "ok"  # killed before the file was created
    db = sqlite3.connect(path, timeout=30)
    try:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        db.close()


def backlog(path: Path, sink: str) -> int:
    """Rows the sink has not delivered, read from the journal file (a concurrent WAL reader)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        last = journal_last_id(db)  # independent of the journal's table layout
        cursor = db.execute("SELECT last_id FROM cursors WHERE sink = ?", (sink,)).fetchone()
        return int(last) - int(cursor[0] if cursor else 0)
    finally:
        db.close()


def _wait_ready(ready: Path, run: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (ready.parent / "daemon.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the daemon (life {run}) exited with {proc.returncode} before it was up:\n{tail}")
        try:
            if ready.read_text() == str(run):
                return
        except OSError:
            pass
        time.sleep(0.01)
    raise TimeoutError(f"the daemon (life {run}) did not start within 30 s")


def run_campaign(
    state: Path,
    server: InfluxV1Server,
    *,
    cycles: int,
    rate: int = 2000,
    kill_window_s: tuple[float, float] = (0.2, 1.5),
    commit_interval_s: float = 0.5,
    startup_kills: float = 0.15,
    seed: int = 7,
) -> CampaignReport:
    """Kill the daemon ``cycles`` times, drain, compare the server with the acknowledgements."""
    rng = random.Random(seed)
    state.mkdir(parents=True, exist_ok=True)
    config = write_config(state, server, commit_interval_s=commit_interval_s)
    journal = state / "journal.sqlite"
    log = state / "daemon.log"
    report = CampaignReport()
    ready = state / "ready"
    for run in range(1, cycles + 1):
        proc = _start(config, state, run, rate, log)
        if rng.random() < startup_kills:
            delay = rng.uniform(0.0, 0.6)  # a cut while the daemon starts (journal opening, recovery)
        else:
            _wait_ready(ready, run, proc)
            delay = rng.uniform(*kill_window_s)  # a cut while it runs (commits, uploads)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        report.cycles += 1
        report.kill_after_s.append(delay)
        verdict = integrity(journal)
        if verdict != "ok":
            report.integrity_failures.append(f"run {run}: {verdict}")
    # The last life: a trickle (commits keep the persisted cursor fresh) while the backlog drains,
    # then a clean stop (SIGTERM: the journal commits, the sink flushes what remains).
    proc = _start(config, state, cycles + 1, 100, log)
    _wait_ready(ready, cycles + 1, proc)
    deadline = time.monotonic() + 300
    while backlog(journal, "central") > 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    if proc.wait(timeout=30) != 0:
        raise RuntimeError(f"the daemon did not stop cleanly; see {log}")
    _compare(state, server, report)
    return report


def _compare(state: Path, server: InfluxV1Server, report: CampaignReport) -> None:
    acks = read_acks(state / "acked.log")
    generated = read_acks(state / "generated.log")
    answer = server.query('SELECT "run", "seq" FROM "meter" WHERE "site" = \'powercut\'', db=server.database)
    series = answer["results"][0].get("series", [])
    rows = [(int(r[1]), int(r[2])) for s in series for r in s["values"]]
    counts = Counter(rows)
    report.stored = len(rows)
    report.duplicates = sum(n - 1 for n in counts.values() if n > 1)
    stored_max: dict[int, int] = {}
    for run, seq in counts:
        stored_max[run] = max(stored_max.get(run, -1), seq)
    for run, top in acks.items():
        report.acknowledged += top + 1
        report.lost_acknowledged += sum(1 for seq in range(top + 1) if (run, seq) not in counts)
    for run, top in generated.items():
        report.unacked_lost.append(max(0, top - stored_max.get(run, -1)))
