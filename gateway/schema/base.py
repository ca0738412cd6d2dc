"""Base model for every configuration section: frozen, unknown keys rejected."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints


class Section(BaseModel):
    """A configuration table. A typo in a key is an error, never silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


#: Identifiers used in tags and MQTT topics: lower-case, digits, '-' and '_'.
Ident = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
IDENT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def place_problems(path: str, building: str, zone: str | None, buildings: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A device's ``building`` (and ``zone``, if any) must name one of ``buildings`` (and one of its zones)."""
    if building not in buildings:
        return [(f"{path}.building", f"no building {building!r} in [buildings]")]
    if zone and zone not in buildings[building].zones:
        return [(f"{path}.zone", f"building {building!r} has no zone {zone!r}")]
    return []
