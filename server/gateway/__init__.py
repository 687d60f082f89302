"""The real-time gateway: one WebSocket per device, per-user event streams, the bus between nodes."""
