"""notify capability (being built)."""
