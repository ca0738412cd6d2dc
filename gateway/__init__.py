"""village-gateway: the energy brain of a village's public buildings (the shell around rules/)."""

__version__ = "0.1.0"
