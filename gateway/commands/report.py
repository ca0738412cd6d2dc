"""``village-gateway report``: energy per building at equal climate, from the hourly archive.

Rules of this command:
- reads the archive read-only (:class:`gateway.report.reader.ReadOnlyArchive`): safe while the
  daemon runs, never changes a file;
- ``--from``/``--to`` are local days, both inclusive; the period stops at yesterday (a day still
  running would lower every per-day figure); the reference defaults to the same dates a year earlier;
- ``--format json`` (machines), ``csv`` (one row per building, energy and calendar year, for the
  décret tertiaire), ``html`` (a printable French report for the council, charts inline);
- a station's daily degree-days (``--dju-csv`` or ``[report] degree_days_csv``) fill the days
  without an outdoor reading;
- exit 0 on success, 2 on a bad argument, configuration or station file, 1 when there is no archive.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="configuration file (TOML)")
    parser.add_argument("--state-dir", type=Path, help="state directory holding archive.sqlite (default: [service])")
    parser.add_argument("--from", dest="first", required=True, help="first day (YYYY-MM-DD)")
    parser.add_argument("--to", dest="last", required=True, help="last day, inclusive (YYYY-MM-DD)")
    parser.add_argument("--reference-from", help="first day of the reference period (default: a year before --from)")
    parser.add_argument("--reference-to", help="last day of the reference period (default: a year before --to)")
    parser.add_argument("--format", choices=("json", "csv", "html"), default="json")
    parser.add_argument(
        "--dju-csv", type=Path, help="a station's daily degree-days (date;dju), for days without a reading"
    )
    parser.add_argument("--output", help="output file (default: standard output)")


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{name}: {text!r} is not a date (YYYY-MM-DD)") from exc


def periods(args: argparse.Namespace, today: date) -> tuple[date, date, tuple[date, date] | None]:
    """The period (clipped to yesterday) and the reference, from the arguments; :class:`ValueError` if wrong."""
    first, last = _day(args.first, "--from"), _day(args.last, "--to")
    last = min(last, today - timedelta(days=1))
    if last < first:
        raise ValueError("--to must not be before --from (and the period must end before today)")
    if bool(args.reference_from) != bool(args.reference_to):
        raise ValueError("give both --reference-from and --reference-to, or neither")
    reference = None
    if args.reference_from:
        reference = (_day(args.reference_from, "--reference-from"), _day(args.reference_to, "--reference-to"))
        if reference[1] < reference[0]:
            raise ValueError("--reference-to must not be before --reference-from")
    return first, last, reference


def build(args: argparse.Namespace, config: Any, now: datetime) -> str:
    """The report's text in the asked format (:class:`ValueError` on bad arguments)."""
    from gateway.commands._config import archive_path
    from gateway.report import outputs
    from gateway.report.compare import compare
    from gateway.report.daily import DailyFigures
    from gateway.report.reader import ReadOnlyArchive
    from gateway.report.station_csv import load

    tz = ZoneInfo(config.site.timezone)
    first, last, reference = periods(args, now.astimezone(tz).date())
    if last.isoformat() != args.last:
        print(f"report: the period ends on {last.isoformat()} (yesterday: today is not finished)", file=sys.stderr)
    station_path = args.dju_csv or config.report.degree_days_csv
    station = load(station_path) if station_path else {}
    path = archive_path(config)
    figures = DailyFigures(config=config, archive=ReadOnlyArchive(path), now=lambda: now, station=station)
    if args.format == "json":
        result = compare(figures, first, last, reference)
        data = outputs.comparison_json(result, method=config.report.method, base_c=config.report.base_c)
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if args.format == "csv":
        return outputs.csv_text(outputs.yearly_rows(figures, first, last, reference))
    from gateway.report.council import council_report
    from gateway.web.offline import render

    report = council_report(figures, first, last, reference, generated=now)
    return render(config, "report/council.html", report=report)


def run(args: argparse.Namespace) -> int:
    from gateway.commands._config import existing_archive, load_or_report
    from gateway.report.station_csv import StationCsvError

    config = load_or_report(args.config, state_dir=args.state_dir)
    if config is None:
        return 2
    path = existing_archive("report", config)
    if path is None:
        return 1
    try:
        text = build(args, config, datetime.now(UTC))
    except (ValueError, StationCsvError) as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"report: {exc}", file=sys.stderr)
        return 2 if args.dju_csv or config.report.degree_days_csv else 1
    except sqlite3.Error as exc:
        print(f"report: cannot read {path}: {exc}", file=sys.stderr)
        return 1
    with contextlib.ExitStack() as stack:
        out = sys.stdout
        if args.output:  # csv: its own CRLF line ends, untouched
            newline = "" if args.format == "csv" else None
            out = stack.enter_context(open(args.output, "w", encoding="utf-8", newline=newline))
        out.write(text)
    return 0
