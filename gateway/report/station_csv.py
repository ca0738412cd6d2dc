"""A weather station's daily degree-days from a CSV file (for a Pi without an outdoor thermometer).

Format: one day a line, ``date`` then ``dju``, separated by ``;``, a tab or ``,``; dates as
``2026-01-15`` or ``15/01/2026``; decimals with a point, or a comma when the separator is not one
(``15/01/2026;12,4`` as French spreadsheets write it). Blank lines, lines starting with ``#`` and a
first line that is a header (``date;dju``) are skipped. The values must be the same method and base
as ``[report]`` says (COSTIC, base 18 °C by default): the file's provider states which.

Errors name the file and line and nothing is imported from a file with one (a half-read file would
silently change the figures).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

_SEPARATORS = (";", "\t", ",")
MAX_DJU = 60.0  # base 18 °C: −42 °C mean; anything above is a typo


class StationCsvError(ValueError):
    """A line of the station file that cannot be read: ``file:line: reason``."""

    def __init__(self, file: str, line: int, reason: str) -> None:
        super().__init__(f"{file}:{line}: {reason}")
        self.file = file
        self.line = line
        self.reason = reason


def _date(text: str) -> date:
    text = text.strip().strip('"')
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text)
    if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", text):
        return datetime.strptime(text, "%d/%m/%Y").date()
    raise ValueError(f"{text!r} is not a date (2026-01-15 or 15/01/2026)")


def parse(text: str, *, file: str = "<csv>") -> dict[date, float]:
    """Daily degree-days from the file's text; :class:`StationCsvError` on the first bad line."""
    out: dict[date, float] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        separator = next((s for s in _SEPARATORS if s in line), None)
        if separator is None:
            raise StationCsvError(file, number, "expected 'date;dju' (separator ';', tab or ',')")
        parts = [p.strip().strip('"') for p in line.split(separator)]
        if separator == "," and len(parts) == 3:  # 2026-01-15,12,4 is ambiguous: say so
            raise StationCsvError(file, number, "a decimal comma needs ';' or a tab as the separator")
        if len(parts) != 2:
            raise StationCsvError(file, number, f"expected two columns (date and dju), found {len(parts)}")
        try:
            day = _date(parts[0])
        except ValueError as exc:
            if not out and number == _first_content_line(text):
                continue  # a header
            raise StationCsvError(file, number, str(exc)) from exc
        try:
            value = float(parts[1].replace(",", ".") if separator != "," else parts[1])
        except ValueError as exc:
            raise StationCsvError(file, number, f"{parts[1]!r} is not a number") from exc
        if not 0.0 <= value <= MAX_DJU:
            raise StationCsvError(file, number, f"{value} degree-days is outside 0..{MAX_DJU:g}")
        if day in out:
            raise StationCsvError(file, number, f"{day.isoformat()} appears twice")
        out[day] = value
    return dict(sorted(out.items()))


def _first_content_line(text: str) -> int:
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().lstrip("\ufeff")
        if line and not line.startswith("#"):
            return number
    return 0


def load(path: Path) -> dict[date, float]:
    """Read the station file at ``path`` (:class:`StationCsvError`, or ``OSError`` if unreadable)."""
    return parse(path.read_text(encoding="utf-8-sig"), file=str(path))
