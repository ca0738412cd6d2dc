"""Configuration of the rules (heating, lighting, leaks) as frozen validated data.

OWNED BY THE RULES ENGINE WORK (issue 3): this placeholder only declares the names that
``gateway.config`` composes; it is replaced by the real models.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HeatingConfig(_Rules):
    """``[buildings.<b>.zones.<z>.heating]``."""


class LightingSection(_Rules):
    """``[lighting]``."""


class LeakSection(_Rules):
    """``[leaks]``."""
