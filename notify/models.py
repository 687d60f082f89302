"""Tables of notify/ (being built)."""
