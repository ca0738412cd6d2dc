"""``[web]``: the admin page (OWNED BY issue 5; placeholder)."""

from __future__ import annotations

from gateway.schema.base import Section


class WebSection(Section):
    """Listen address and session settings."""

    listen: str = "127.0.0.1:8080"
