"""SMS and phone providers behind one interface (``Provider`` in server/channels/providers/base.py)."""
