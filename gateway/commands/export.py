"""``village-gateway export``: hand a village's data over as CSV or line protocol, no server needed.

Rules of this command:
- reads the files read-only (safe while the daemon runs: SQLite WAL readers never block it);
- ``--source archive`` (default): the hourly aggregates kept for years; ``--source journal``:
  the raw points still in the journal (those not yet delivered by every sink, plus the last
  few thousand delivered ones awaiting batch deletion);
- ``--from``/``--to`` are dates (``2026-01-31``, in the site's time zone, ``--to`` inclusive:
  up to the end of that day) or ISO date-times (``2026-01-31T12:00``, local unless an offset
  is given; ``--to`` exclusive);
- memory stays flat: rows stream from SQLite to the output;
- exit 0 on success, 2 on a bad argument or configuration, 1 when there is nothing to read.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import sqlite3
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from gateway.archive import HourRow


_KNOWN_TAGS = ("site", "building", "zone", "device")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="configuration file (TOML)")
    parser.add_argument("--from", dest="start", required=True, help="first day (YYYY-MM-DD) or date-time")
    parser.add_argument("--to", dest="end", required=True,
                        help="last day, inclusive (YYYY-MM-DD) or date-time")
    parser.add_argument("--format", choices=("csv", "lp"), default="csv",
                        help="csv (default) or lp (line protocol)")
    parser.add_argument("--source", choices=("archive", "journal"), default="archive",
                        help="archive: hourly aggregates (default); journal: raw points not yet uploaded")
    parser.add_argument("--output", help="output file (default: standard output)")


def parse_bound(text: str, zone: ZoneInfo, *, end: bool) -> int:
    """A ``--from``/``--to`` value as UTC nanoseconds (a plain ``--to`` date means the end of that day)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
    else:
        moment = datetime(day.year, day.month, day.day, tzinfo=zone)
        if end:
            moment = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1_000


def _iso(time_ns: int) -> str:
    return datetime.fromtimestamp(time_ns // 1_000_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _tag_columns(tags: dict[str, str]) -> list[str]:
    other = ";".join(f"{k}={v}" for k, v in sorted(tags.items()) if k not in _KNOWN_TAGS)
    return [tags.get(k, "") for k in _KNOWN_TAGS] + [other]


def export_archive(path: Path, start_ns: int, end_ns: int, fmt: str, out: IO[str]) -> int:
    """Write archived hours in ``[start_ns, end_ns)``; return the rows written."""
    from gateway import lineproto
    from gateway.archive import read_hours
    from gateway.model import Reading

    rows: Iterator[HourRow] = read_hours(path, start_ns, end_ns)
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["hour_start_utc", "measurement", *_KNOWN_TAGS, "other_tags", "field",
                         "count", "mean", "min", "max", "delta"])
        for row in rows:
            writer.writerow([_iso(row.hour_ns), row.measurement, *_tag_columns(row.tags), row.field,
                             row.count, repr(row.mean), repr(row.min), repr(row.max),
                             "" if row.delta is None else repr(row.delta)])
            count += 1
        return count
    for row in rows:
        fields: dict[str, float | int | None] = {
            f"{row.field}_mean": row.mean, f"{row.field}_min": row.min, f"{row.field}_max": row.max,
            f"{row.field}_count": row.count, f"{row.field}_delta": row.delta,
        }
        reading = Reading.make(f"{row.measurement}_hourly", row.tags, fields, time_ns=row.hour_ns)
        out.write(lineproto.encode_text(reading) + "\n")
        count += 1
    return count


def export_journal(path: Path, start_ns: int, end_ns: int, fmt: str, out: IO[str]) -> int:
    """Write the raw points still in the journal with a time in ``[start_ns, end_ns)``."""
    from gateway import journal_blocks, lineproto

    db = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    count = 0
    try:
        writer = csv.writer(out, lineterminator="\n") if fmt == "csv" else None
        if writer is not None:
            writer.writerow(["time_utc", "time_ns", "measurement", *_KNOWN_TAGS, "other_tags", "field",
                             "value"])
        for line in journal_blocks.lines_between(db, start_ns, end_ns):
            text = bytes(line).decode("utf-8")
            if writer is None:
                out.write(text + "\n")
                count += 1
                continue
            measurement, tags, fields, time_ns = lineproto.parse(text)
            for name, value in fields.items():
                writer.writerow([_iso(time_ns), time_ns, measurement, *_tag_columns(tags), name,
                                 repr(value) if isinstance(value, float) else value])
            count += 1
    finally:
        db.close()
    return count


def run(args: argparse.Namespace) -> int:
    from gateway.commands._config import load_or_report

    config = load_or_report(args.config)
    if config is None:
        return 2
    zone = ZoneInfo(config.site.timezone)
    try:
        start_ns = parse_bound(args.start, zone, end=False)
        end_ns = parse_bound(args.end, zone, end=True)
    except ValueError as exc:
        print(f"export: bad date ({exc}); use YYYY-MM-DD or YYYY-MM-DDTHH:MM", file=sys.stderr)
        return 2
    if end_ns <= start_ns:
        print("export: --to must be after --from", file=sys.stderr)
        return 2
    if args.source == "archive":
        path = config.journal.archive.path or config.service.state_dir / "archive.sqlite"
    else:
        path = config.journal_path
    if not path.exists():
        print(f"export: {path} does not exist (has the gateway run yet?)", file=sys.stderr)
        return 1
    export = export_archive if args.source == "archive" else export_journal
    with contextlib.ExitStack() as stack:
        out = (stack.enter_context(open(args.output, "w", encoding="utf-8", newline=""))
               if args.output else sys.stdout)
        try:
            count = export(path, start_ns, end_ns, args.format, out)
        except sqlite3.Error as exc:
            print(f"export: cannot read {path}: {exc}", file=sys.stderr)
            return 1
    unit = "hourly rows" if args.source == "archive" else "points"
    print(f"export: {count} {unit} from {path.name} ({_iso(start_ns)} to {_iso(end_ns)})", file=sys.stderr)
    return 0
