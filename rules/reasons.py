"""Reason codes -> words (French and English), as a table. Placeholder until filled."""

from __future__ import annotations

from rules.types import Reason


def render(reason: Reason, lang: str = "fr") -> str:
    """The reason in plain words."""
    return reason.code
