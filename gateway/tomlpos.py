"""Find the line of a field in a TOML file, so configuration errors can say where they are.

``tomllib`` gives values without positions. This scanner walks the text once, tracking the
current table (``[a.b]``) and array-of-tables index (``[[a.b]]``), and records the line of
every header and ``key = value`` it meets, keyed by the same dotted path pydantic reports
(``buses.rs485.devices[2].unit``). It is a locator, not a parser: inline tables and
multi-line values are located by their first line, which is what a person needs.
"""

from __future__ import annotations

import re

_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"|\'[^\']*\''
_KEY = rf"(?:{_BARE}|{_QUOTED})"
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_HEADER = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*\]\]?\s*(?:#.*)?$")
_ASSIGN = re.compile(rf"^\s*({_DOTTED})\s*=")
_KEY_PART = re.compile(_KEY)


def _split(dotted: str) -> list[str]:
    parts = []
    for match in _KEY_PART.finditer(dotted):
        token = match.group(0)
        if token[0] in "\"'":
            token = token[1:-1]
        parts.append(token)
    return parts


def _join(parts: list[str | int]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def locate_lines(text: str) -> dict[str, int]:
    """Map each dotted field path in ``text`` to its 1-based line number."""
    lines: dict[str, int] = {}
    arrays: dict[str, int] = {}
    table: list[str | int] = []
    in_multiline: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        header = _HEADER.match(line)
        if header:
            keys = _split(header.group(2))
            if header.group(1) == "[[":
                plain = ".".join(keys)
                index = arrays.get(plain, -1) + 1
                arrays[plain] = index
                table = [*_resolve(keys, arrays), index]
            else:
                table = list(_resolve(keys, arrays))
            lines.setdefault(_join(table), number)
            continue
        assign = _ASSIGN.match(line)
        if assign:
            path = _join([*table, *_split(assign.group(1))])
            lines.setdefault(path, number)
            for quote in ('"""', "'''"):
                if line.count(quote) % 2 == 1:
                    in_multiline = quote
    return lines


def _resolve(keys: list[str], arrays: dict[str, int]) -> list[str | int]:
    """Insert array indexes for parents that are arrays of tables (``[[a]]`` then ``[a.b]``)."""
    out: list[str | int] = []
    for i, key in enumerate(keys):
        out.append(key)
        prefix = ".".join(keys[: i + 1])
        if prefix in arrays and i < len(keys) - 1:
            out.append(arrays[prefix])
    return out


def line_of(lines: dict[str, int], path: str) -> int | None:
    """The line of ``path`` or of its nearest located parent."""
    candidate = path
    while candidate:
        if candidate in lines:
            return lines[candidate]
        cut = max(candidate.rfind("."), candidate.rfind("["))
        candidate = candidate[:cut] if cut > 0 else ""
    return None
