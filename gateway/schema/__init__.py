"""Configuration sections as frozen pydantic models, one module per section.

Each module may define ``cross_check(config) -> list[tuple[str, str]]`` returning
``(field path, reason)`` pairs for rules that span sections (a device naming a building
that does not exist); :mod:`gateway.config` runs them all after validation.
"""
