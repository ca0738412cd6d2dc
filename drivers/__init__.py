"""Hardware at the edge: each driver yields Readings and/or applies Commands."""
