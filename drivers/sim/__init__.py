"""Simulated hardware: real implementations against models, chosen by configuration."""
