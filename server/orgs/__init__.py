"""Organisations, their department tree, members and the directory."""
