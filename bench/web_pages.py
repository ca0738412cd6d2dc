"""Admin page load time on the demo, from the gateway's own history (not a test: prints figures).

Runs ``village-gateway demo`` (simulated meters, plant and BLE) on a state directory whose hourly
archive was seeded with ``--days`` of history (``tests/web/demo_history.py``), logs in as the demo
account it prints, then
fetches each page ``--rounds`` times over loopback and prints the median, p95 and max time to the
last byte, plus the page weight. Target: every page under 300 ms.

    .venv/bin/python bench/web_pages.py [--days 7] [--rounds 30]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import re
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.procs import free_port, running  # noqa: E402
from tests.web.demo_history import demo_argv, demo_credentials, prepare_demo_history  # noqa: E402

PAGES = [
    ("Vue d'ensemble", "/"),
    ("Zone (salle des fêtes)", "/zone/salle/grande_salle"),
    ("Zone (mairie)", "/zone/mairie/bureaux"),
    ("Éclairage", "/eclairage"),
    ("Énergie", "/energie"),
    ("Système", "/systeme"),
    ("Journal des actions", "/journal"),
    ("/health", "/health"),
    ("/metrics", "/metrics"),
]


def browser_loads(base: str, credentials: dict[str, str], *, rounds: int) -> None:
    """Full page loads in headless Chromium (HTML, CSS, JS, the chart drawn): navigation timing."""
    from playwright.sync_api import sync_playwright

    from tests.web.test_browser import CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(base + "/login")
        page.fill("#name", credentials["user"])
        page.fill("#password", credentials["password"])
        page.click("#login-submit")
        page.wait_for_url(base + "/")
        print(f"\nheadless Chromium, {rounds} loads per page (cache warm): load event / chart drawn")
        for name, path in PAGES[:7]:
            loads, charts = [], []
            for _ in range(rounds):
                started = time.perf_counter()
                page.goto(base + path)
                if "/zone/" in path:
                    page.wait_for_selector(".chart canvas")
                    charts.append((time.perf_counter() - started) * 1000)
                loads.append(
                    page.evaluate(
                        "() => { const n = performance.getEntriesByType('navigation')[0];"
                        " return n.loadEventEnd - n.startTime; }"
                    )
                )
            chart = f"   chart drawn {statistics.median(charts):6.1f}ms" if charts else ""
            print(f"{name:28} load {statistics.median(loads):6.1f}ms (max {max(loads):6.1f}ms){chart}")
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=7, help="days of archived history to seed")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--no-browser", action="store_true", help="skip the headless Chromium measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        log = Path(tmp) / "demo.log"
        state = Path(tmp) / "state"
        prepare_demo_history(state, args.days)
        with running(demo_argv(state, f"127.0.0.1:{port}"), port=port, log=log, timeout=120):
            credentials = demo_credentials(log.read_text(encoding="utf-8"))
            base = f"http://127.0.0.1:{port}"
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
            html = opener.open(base + "/login").read().decode()
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
            body = urllib.parse.urlencode(
                {"csrf_token": token, "name": credentials["user"], "password": credentials["password"]}
            ).encode()
            opener.open(base + "/login", data=body).read()
            time.sleep(3)  # a few rules ticks and readings
            archive = state / "archive.sqlite"
            print(
                f"demo daemon, {args.days} days of hourly history in the archive "
                f"({archive.stat().st_size / 1e6:.1f} MB), {args.rounds} loads per page, loopback"
            )
            print(f"{'page':28} {'median':>8} {'p95':>8} {'max':>8} {'size':>8}")
            worst = 0.0
            for name, path in PAGES:
                times, size = [], 0
                for _ in range(args.rounds):
                    started = time.perf_counter()
                    size = len(opener.open(base + path).read())
                    times.append((time.perf_counter() - started) * 1000)
                times.sort()
                p95 = times[max(0, int(len(times) * 0.95) - 1)]
                worst = max(worst, p95)
                print(
                    f"{name:28} {statistics.median(times):6.1f}ms {p95:6.1f}ms {times[-1]:6.1f}ms {size / 1024:6.1f}kB"
                )
            print(f"worst p95: {worst:.1f} ms (target < 300 ms)")
            if not args.no_browser:
                browser_loads(base, credentials, rounds=max(5, args.rounds // 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
