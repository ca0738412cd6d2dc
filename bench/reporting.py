"""Reporting on a year and more of history (not a test: prints figures).

1. seeding: ``gateway.demo_history.seed_history`` of ``--days`` days (what ``demo --history-days`` does);
2. ``village-gateway report`` on that archive: JSON over the last 28 days, the printable HTML over the
   winter so far, the yearly CSV over the whole history (each as a user runs it: a new process,
   imports included), and the same computations in process;
3. the real demo daemon on that state: the public page (first request after start, then ``--rounds``
   requests: median, p95, max, bytes), the Énergie page (logged in: first and warm), and the daemon's
   resident memory before and after.

    .venv/bin/python bench/reporting.py [--days 400] [--rounds 50]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.procs import free_port, running  # noqa: E402
from tests.web.demo_history import demo_argv, demo_credentials  # noqa: E402

CONFIG = ROOT / "examples" / "village.toml"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed_cli(state: Path, *args: str) -> tuple[float, int]:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "gateway.cli", "report", "--config", str(CONFIG), "--state-dir",
                          str(state), *args], capture_output=True, check=True)
    return time.perf_counter() - started, len(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    from gateway.commands.demo import prepare_config
    from gateway.config import load_config
    from gateway.demo_history import seed_history

    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        state.mkdir()
        config = prepare_config(load_config(CONFIG), state)
        started = time.perf_counter()
        result = seed_history(config, state / "archive.sqlite", days=args.days)
        seeding = time.perf_counter() - started
        size = (state / "archive.sqlite").stat().st_size / 1e6
        print(f"seeding {args.days} days: {seeding:.1f} s, {result.readings} readings, archive {size:.1f} MB")

        yesterday = datetime.now(UTC).date() - timedelta(days=1)
        season = date(yesterday.year if yesterday.month >= 10 else yesterday.year - 1, 10, 1)
        first_day = yesterday - timedelta(days=args.days - 2)
        runs = [
            ("report json, last 28 days", ["--from", (yesterday - timedelta(days=27)).isoformat(),
                                            "--to", yesterday.isoformat()]),
            ("report html, winter so far", ["--from", max(season, first_day).isoformat(), "--to",
                                             yesterday.isoformat(), "--format", "html"]),
            (f"report csv, {args.days - 1} days", ["--from", first_day.isoformat(), "--to", yesterday.isoformat(),
                                                  "--format", "csv"]),
        ]
        print("\nvillage-gateway report (a new process each, imports included; 3 runs, best):")
        for name, extra in runs:
            best, size = min(timed_cli(state, *extra) for _ in range(3))
            print(f"  {name:30} {best:5.2f} s  ({size / 1000:.1f} kB)")

        with running(demo_argv(state, f"127.0.0.1:{(port := free_port())}"), port=port,
                     log=Path(tmp) / "demo.log", timeout=120) as proc:
            base = f"http://127.0.0.1:{port}"
            time.sleep(2)
            before = rss_mb(proc.pid)
            started = time.perf_counter()
            body = urllib.request.urlopen(base + "/public", timeout=60).read()
            first = (time.perf_counter() - started) * 1000
            times = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                urllib.request.urlopen(base + "/public", timeout=60).read()
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            p95 = times[max(0, int(len(times) * 0.95) - 1)]
            print(f"\n/public on the demo daemon (loopback): first request {first:.1f} ms (page computed at start);"
                  f" then median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, max {times[-1]:.1f} ms;"
                  f" {len(body)} bytes, one request (style inline, no script, no image)")
            credentials = demo_credentials((Path(tmp) / "demo.log").read_text(encoding="utf-8"))
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
            html = opener.open(base + "/login").read().decode()
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
            form = {"csrf_token": token, "name": credentials["user"], "password": credentials["password"]}
            opener.open(base + "/login", data=urllib.parse.urlencode(form).encode()).read()
            loads = []
            for _ in range(10):
                started = time.perf_counter()
                page = opener.open(base + "/energie").read()
                loads.append((time.perf_counter() - started) * 1000)
            print(f"/energie (signatures this winter and the meters): first {loads[0]:.0f} ms, then median "
                  f"{statistics.median(loads[1:]):.0f} ms; {len(page) / 1000:.1f} kB")
            print(f"demo daemon RSS: {before:.0f} MB at start, {rss_mb(proc.pid):.0f} MB after the pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
