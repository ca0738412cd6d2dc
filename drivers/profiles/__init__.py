"""Meter register maps as data files (``*.toml`` beside this module)."""

from __future__ import annotations

from importlib import resources


def available_profiles() -> set[str]:
    """Names of the shipped profiles (file names without ``.toml``)."""
    return {
        entry.name.removesuffix(".toml")
        for entry in resources.files(__package__).iterdir()
        if entry.name.endswith(".toml")
    }
