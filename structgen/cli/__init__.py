"""The ``structgen`` command line."""
