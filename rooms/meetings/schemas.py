"""Request and response bodies of the meetings API."""
from __future__ import annotations

import datetime as dt

from pydantic import Field

from rooms.meetings.meetings import MAX_INVITEES, PASSCODE_LENGTH
from server.api import Id, Model, Out


class MeetingIn(Model):
    title: str = Field(min_length=1, max_length=200)
    scheduled_at: dt.datetime | None = None  # None: an instant meeting
    passcode: str | None = Field(None, min_length=PASSCODE_LENGTH[0], max_length=PASSCODE_LENGTH[1])
    lobby_enabled: bool = False
    cap: int = Field(300, ge=2, le=300)
    cohost_ids: list[Id] = Field(default_factory=list, max_length=50)
    invitee_ids: list[Id] = Field(default_factory=list, max_length=MAX_INVITEES)
    duration_min: int | None = Field(None, ge=5, le=24 * 60)


class UpcomingQuery(Model):
    within_hours: int | None = Field(None, ge=1, le=24 * 366, description="Only scheduled meetings starting within this many hours.")


class JoinQrOut(Out):
    join_url: str
    svg: str  # a standalone SVG document


class MeetingPatch(Model):
    """Only the fields sent change (the route reads them with ``exclude_unset``): a title, lobby, lock or cap
    sent as null is refused like any other wrong type, since the meeting must have one."""

    title: str = Field(None, min_length=1, max_length=200)
    scheduled_at: dt.datetime | None = None
    duration_min: int | None = Field(None, ge=5, le=24 * 60)
    passcode: str | None = Field(None, max_length=PASSCODE_LENGTH[1])  # "" removes it; else as long as on creation (check_passcode)
    lobby_enabled: bool = None
    locked: bool = None
    cap: int = Field(None, ge=2, le=300)


class MeetingOut(Out):
    id: int
    org_id: int
    title: str
    host_id: int | None
    scheduled_at: dt.datetime | None
    duration_min: int | None
    status: str
    locked: bool
    lobby_enabled: bool
    cap: int
    has_passcode: bool
    join_url: str
    cohost_ids: list[int]
    invitee_ids: list[int]
    created_at: dt.datetime


class InviteesIn(Model):
    user_ids: list[Id] = Field(min_length=1, max_length=MAX_INVITEES, description="Members to invite as well; whoever is invited already stays so.")


class InviteeOut(Out):
    user_id: int
    display_name: str


class JoinIn(Model):
    link_token: str = Field(min_length=1, max_length=64)
    passcode: str | None = Field(None, max_length=32)
    display_name: str | None = Field(None, min_length=1, max_length=100)


class JoinOut(Out):
    meeting_id: int
    org_id: int
    title: str
    role: str  # host | cohost | member | guest
    ticket: str  # send it in the meeting.join frame of the device WebSocket
    token: str | None = None  # a guest's new session token (people keep theirs)
    ice_servers: list[dict]


class RecordingOut(Out):
    id: int
    meeting_id: int
    status: str  # recording | done | failed
    started_by: int | None
    started_at: dt.datetime
    ended_at: dt.datetime | None
    size_bytes: int
    video_frames: int
    audio_packets: int
    error: str | None
    file_id: int | None  # the platform file (server/files), when done
    download_url: str | None  # when done: the file's /api/v1/orgs/{org}/files/{file_id}
