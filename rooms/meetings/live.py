"""Meetings live on this node: what the REST side tells the live side.

The signalling over the device WebSocket (lobby, media, host commands) is not
built yet; until it is, this registry only records the settings and endings
the REST API announces, so that a later live layer has one place to hook in.
"""
from __future__ import annotations


class LiveMeetings:
    def __init__(self) -> None:
        self.ended: set[int] = set()
        self.settings: dict[int, dict] = {}

    def settings_changed(self, meeting_id: int, **settings) -> None:
        self.settings[meeting_id] = settings

    async def end(self, meeting_id: int, reason: str) -> None:
        self.ended.add(meeting_id)
        self.settings.pop(meeting_id, None)
