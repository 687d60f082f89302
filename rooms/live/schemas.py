"""Request and response bodies of the livestreams API."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from server.api import Id, Model, Out


class StreamIn(Model):
    group_id: Id
    title: str = Field(min_length=1, max_length=200)
    scheduled_at: dt.datetime | None = Field(None, description="None: live now; else scheduled (it goes live when its publisher connects or the host starts it).")
    allow_guests: bool = Field(False, description="Whether people outside the group may watch by a public link.")


class StreamPatch(Model):
    """Only the fields sent change; turning allow_guests off withdraws the public links and signs their guests out."""

    title: str = Field(None, min_length=1, max_length=200)
    scheduled_at: dt.datetime | None = None
    allow_guests: bool = None


class StreamOut(Out):
    id: int
    org_id: int
    group_id: int
    title: str
    host_id: int | None
    scheduled_at: dt.datetime | None
    status: str  # scheduled | live | ended
    allow_guests: bool
    publishing: bool  # a WHIP publisher holds the stream now
    has_key: bool
    watch_url: str
    whip_url: str | None  # for the host and managers: where OBS or the studio page publishes
    created_at: dt.datetime
    started_at: dt.datetime | None
    ended_at: dt.datetime | None


class StreamCreated(StreamOut):
    stream_key: str  # the WHIP bearer token, shown only now (a new one: POST .../stream-key)


class StreamKeyOut(Out):
    whip_url: str
    stream_key: str  # shown only now


class ListQuery(Model):
    group_id: int | None = Field(None, gt=0, lt=2**63, description="Only this group's streams.")
    ended: bool = Field(False, description="Ended streams instead of scheduled and live ones.")


class QrOut(Out):
    url: str
    svg: str  # a standalone SVG document


class PublicLinkIn(Model):
    expires_in_hours: int = Field(24, ge=1, le=24 * 30)
    max_uses: int | None = Field(None, ge=1, le=100_000)


class PublicLinkOut(Out):
    public_link_id: int  # the guest invite behind it
    url: str  # shown only now: the token rides in its fragment
    svg: str  # its QR code
    expires_at: dt.datetime


# --- the stream's room: chat, likes, hands, presence, moderation, attendance ---------------------------------

class ChatIn(Model):
    text: str = Field(min_length=1, max_length=1000)


class ChatMessageOut(Out):
    id: int
    user_id: int | None
    name: str
    text: str
    at: dt.datetime


class HandOut(Out):
    user_id: int
    name: str
    raised_at: dt.datetime


class RoomOut(Out):
    """What a watch page or the studio shows when it opens; then the ``live.*`` events of the device socket keep it current."""

    likes: int
    viewers: int  # watching live now, over WebRTC or HLS, on any node
    chat: list[ChatMessageOut]  # the latest, oldest first
    user_id: int  # the caller
    hand_raised: bool  # the caller's own hand
    manager: bool  # the caller may moderate (remove messages and viewers) and sees the hand queue
    presence_s: int  # how often the page reports presence


class PresenceIn(Model):
    kind: Literal["live", "replay"] = Field("live", description="live: watching the stream now (WebRTC or HLS); replay: its recording.")
    leaving: bool = Field(False, description="The page is being left: the stretch ends now.")


class PresenceOut(Out):
    viewers: int | None  # watching live now, when this report made someone start or stop watching
    next_in_s: int  # report again within this


class AttendeeOut(Out):
    user_id: int
    name: str
    guest: bool
    first_joined_at: dt.datetime | None  # live; None: watched only the replay
    last_left_at: dt.datetime | None
    live_s: int
    replay_s: int
    stretches: int


class AbsentOut(Out):
    user_id: int
    name: str


class AttendanceOut(Out):
    viewers_now: int
    attended: list[AttendeeOut]  # who watched, live or in replay, first to join first
    absent: list[AbsentOut]  # the group's members (not its owners or admins) who did not watch live, by name


class ExportQuery(Model):
    format: Literal["csv", "xlsx"] = "csv"


class HlsOut(Out):
    """Where this viewer plays the stream over HLS; the token in the URLs is the stream's, the same for every viewer."""

    live: str | None = Field(description="The live playlist while the stream is live, else None.")
    replay: str | None = Field(description="The replay's VOD playlist once the stream ended and its replay is ready, else None.")
    token: str = Field(description="The stream's current HLS token (the path segment after the stream id).")
    refresh_s: int = Field(description="Ask again within this many seconds: the token rotates, and an old one is refused two periods on.")
