"""SMS and phone providers behind one interface (``Provider`` in notify/providers/base.py)."""
