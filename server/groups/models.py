"""Tables of groups (being built)."""
