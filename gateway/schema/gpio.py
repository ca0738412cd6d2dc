"""``[gpio]``: relays and inputs on the Pi's header (OWNED BY issue 3; placeholder)."""

from __future__ import annotations

from gateway.schema.base import Section


class GpioSection(Section):
    """Relays and inputs."""
