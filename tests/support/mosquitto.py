"""Fixture plugin (filled by its issue)."""
