"""Retention: tables that would grow without bound are pruned by one job, on one node at a time (job.py), from a
registry each part of the platform and each capability adds its own rules to (registry.py)."""
