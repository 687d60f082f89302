"""schools capability (being built)."""
