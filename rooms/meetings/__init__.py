"""Meetings: scheduling and joining (REST), live state and signalling (device WebSocket)."""
