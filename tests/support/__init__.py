"""Helpers shared by tests: free ports, starting real local servers, waiting for them."""
