"""``village-gateway public-page``: the public page as one static HTML file, for the commune's website.

Rules of this command:
- the same figures and the same HTML as ``/public`` (buildings marked ``public = true`` only, zone names
  only where marked public), computed from the archive opened read-only (safe beside the daemon);
- it works whether or not ``[web] public_page`` serves the page live: publishing a file is a choice
  made by running this command;
- one self-contained file (style inline, no script, no external resource): copy it anywhere;
- exit 0 on success, 2 on a bad configuration or when no building is public, 1 without an archive.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="configuration file (TOML)")
    parser.add_argument("--state-dir", type=Path, help="state directory holding archive.sqlite (default: [service])")
    parser.add_argument("--output", required=True, help="the HTML file to write")


def run(args: argparse.Namespace) -> int:
    from gateway.commands._config import existing_archive, load_or_report

    config = load_or_report(args.config, state_dir=args.state_dir)
    if config is None:
        return 2
    if not any(b.public for b in config.buildings.values()):
        print("public-page: no building is marked public (public = true under [buildings.<id>])", file=sys.stderr)
        return 2
    path = existing_archive("public-page", config)
    if path is None:
        return 1
    from gateway.report.daily import DailyFigures
    from gateway.report.door import load_station
    from gateway.report.public import public_view
    from gateway.report.reader import ReadOnlyArchive
    from gateway.web.offline import render
    from gateway.web.views.public import CSS

    now = datetime.now(UTC)
    figures = DailyFigures(config=config, archive=ReadOnlyArchive(path), now=lambda: now, station=load_station(config))
    html = render(config, "public/page.html", view=public_view(figures, now), css=CSS)
    Path(args.output).write_text(html, encoding="utf-8")
    print(f"public-page: {args.output} written ({len(html.encode()) / 1000:.1f} kB)", file=sys.stderr)
    return 0
