"""Tables of rooms/ (being built)."""
