"""``[ble]``: BLE thermometers (OWNED BY issue 4; placeholder)."""

from __future__ import annotations

from gateway.schema.base import Section


class BleSection(Section):
    """Passive scanning and sensors by MAC address."""
