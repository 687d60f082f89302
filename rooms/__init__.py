"""rooms capability (being built)."""
