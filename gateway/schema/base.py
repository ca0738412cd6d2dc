"""Base model for every configuration section: frozen, unknown keys rejected."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints


class Section(BaseModel):
    """A configuration table. A typo in a key is an error, never silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


#: Identifiers used in tags and MQTT topics: lower-case, digits, '-' and '_'.
Ident = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
IDENT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
