"""Prometheus text exposition (format 0.0.4) of :class:`gateway.metrics.Metrics` series.

Pure: items in, text out. One ``# HELP``/``# TYPE`` block per metric name; label values escaped
as the format requires (backslash, double quote, newline).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

Labels = tuple[tuple[str, str], ...]
Item = tuple[str, str, str, Labels, float]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_NAME_OK = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def render(items: Iterable[Item]) -> str:
    """The exposition text of ``items`` (``(name, kind, help, labels, value)``), grouped by name."""
    lines: list[str] = []
    seen: set[str] = set()
    for name, kind, help_text, labels, value in sorted(items, key=lambda i: (i[0], i[3])):
        if not _NAME_OK.fullmatch(name):
            continue
        if name not in seen:
            seen.add(name)
            if help_text:
                lines.append(f"# HELP {name} {help_text.replace(chr(92), chr(92) * 2).replace(chr(10), ' ')}")
            lines.append(f"# TYPE {name} {kind if kind in {'counter', 'gauge'} else 'untyped'}")
        label_text = ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels if _NAME_OK.fullmatch(k))
        lines.append(f"{name}{{{label_text}}} {_number(value)}" if label_text else f"{name} {_number(value)}")
    return "\n".join(lines) + "\n"
