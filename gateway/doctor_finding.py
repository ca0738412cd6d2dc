"""``doctor``'s findings: one line of the report each, and the exit code they add up to."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Level = Literal["OK", "WARN", "FAIL"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One line of the report."""

    level: Level
    what: str
    message: str

    def __str__(self) -> str:
        return f"{self.level:<4} {self.what}: {self.message}"


def exit_code(findings: Iterable[Finding]) -> int:
    """0 when everything is OK, 1 with warnings only, 2 with any failure."""
    levels = {f.level for f in findings}
    return 2 if "FAIL" in levels else 1 if "WARN" in levels else 0
