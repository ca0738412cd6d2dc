"""Subcommands of ``village-gateway`` (see :mod:`gateway.cli`)."""
