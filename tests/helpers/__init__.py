"""Helpers shared by the test modules (one file per area)."""
