"""Tables of rooms/: meetings, their co-hosts and invitees, who was in them, and their recordings; livestreams, their replays, chat, attendance, hands and removed viewers; clinics and their consultations.

A meeting's live state (lobby, mute states, media) lives in memory on the node
that hosts it (``hosting_node``); these rows are what outlives a node: the
meeting itself, its link secret and passcode, and the attendance history.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, BigId, OrgScoped, UTCDateTime, utcnow

STATUSES = ("scheduled", "live", "ended")
DEFAULT_CAP = 300


class Meeting(OrgScoped, Base):
    __tablename__ = "meetings"
    __table_args__ = (
        UniqueConstraint("join_token", name="uq_meetings_join_token"),
        Index("ix_meetings_org_scheduled", "org_id", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    host_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    scheduled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    duration_min: Mapped[int | None] = mapped_column(Integer)  # how long it is planned for; the meeting goes on until ended
    join_token: Mapped[str] = mapped_column(String(64))  # the link secret: {public_url}/m/<join_token>
    passcode_hash: Mapped[str | None] = mapped_column(String(64))  # HMAC-SHA256 under the server key
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    lobby_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    cap: Mapped[int] = mapped_column(Integer, default=DEFAULT_CAP)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")  # scheduled | live | ended
    hosting_node: Mapped[str | None] = mapped_column(String(200))
    hosting_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # refreshed by the hosting node while it lives
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class MeetingPasscodeFailure(OrgScoped, Base):
    """One wrong passcode for a meeting, by whom: ``user:<id>`` if they were signed in, else ``addr:<ip>``.

    Rows older than the window are deleted as new ones come (rooms/meetings/meetings.py).
    """

    __tablename__ = "meeting_passcode_failures"
    __table_args__ = (
        Index("ix_meeting_passcode_failures_meeting_key_at", "meeting_id", "key", "at"),
        Index("ix_meeting_passcode_failures_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(80))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class MeetingCoHost(OrgScoped, Base):
    __tablename__ = "meeting_cohosts"
    __table_args__ = (UniqueConstraint("meeting_id", "user_id", name="uq_meeting_cohosts_meeting_user"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class MeetingInvitee(OrgScoped, Base):
    """A member the host invited: the meeting is among their upcoming ones (rooms/meetings/upcoming.py)."""

    __tablename__ = "meeting_invitees"
    __table_args__ = (
        UniqueConstraint("meeting_id", "user_id", name="uq_meeting_invitees_meeting_user"),
        Index("ix_meeting_invitees_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class MeetingParticipant(OrgScoped, Base):
    """One stay in a meeting: from admission to leaving (``left_at`` NULL while inside)."""

    __tablename__ = "meeting_participants"
    __table_args__ = (Index("ix_meeting_participants_meeting_left", "meeting_id", "left_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # host | cohost | member | guest
    joined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    left_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class MeetingRecording(OrgScoped, Base):
    """One recording of a meeting's stage: a WebM file of the platform's files (``file_id``, owner kind ``meeting_recording``).

    ``file_name`` is only for recordings made before they were platform files:
    the path under ``{data_dir}/recordings/`` their bytes are moved from, once,
    when a node starts (``rooms/meetings/recordings.py``); empty otherwise.
    """

    __tablename__ = "meeting_recordings"
    __table_args__ = (Index("ix_meeting_recordings_meeting", "meeting_id", "started_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    started_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="recording")  # recording | done | failed
    file_name: Mapped[str] = mapped_column(String(200), default="")
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id", ondelete="SET NULL"))  # NULL: failed, or its file was deleted
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    video_frames: Mapped[int] = mapped_column(Integer, default=0)
    audio_packets: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class LiveStream(OrgScoped, Base):
    """A class livestream from a group (rooms/live/): its host, schedule, state, stream key and who publishes now.

    The stream key (WHIP bearer token) is kept as its SHA-256 only; NULL once
    revoked. ``publisher_*`` is the one WHIP session that publishes, claimed
    by one conditional UPDATE (a second publisher is refused, never takes
    over) and held by ``publisher_node`` while it renews ``publisher_seen_at``.
    """

    __tablename__ = "live_streams"
    __table_args__ = (Index("ix_live_streams_group", "group_id", "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    host_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    scheduled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")  # scheduled | live | ended
    allow_guests: Mapped[bool] = mapped_column(Boolean, default=False)  # people outside the group may watch by a public link
    key_hash: Mapped[str | None] = mapped_column(String(64))  # SHA-256 of the stream key; None: revoked
    publisher_id: Mapped[str | None] = mapped_column(String(64))  # the WHIP session's resource id
    publisher_node: Mapped[str | None] = mapped_column(String(200))
    publisher_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    likes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # likes so far: each node adds what it took, once an interval (rooms/live/likes.py)


class LiveChatMessage(OrgScoped, Base):
    """A chat message in a stream, by a viewer or its host; a manager may remove it (kept, marked, no longer shown)."""

    __tablename__ = "live_chat_messages"
    __table_args__ = (Index("ix_live_chat_stream", "stream_id", "id"), Index("ix_live_chat_author", "stream_id", "user_id", "created_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("live_streams.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))  # the author's name when they wrote
    text: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    removed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class LiveAttendance(OrgScoped, Base):
    """One stretch of watching a stream, live or its replay: from ``joined_at`` to ``left_at`` (the last heartbeat).

    A heartbeat extends the person's open stretch of that kind if it came
    within the heartbeat gap (rooms/live/attendance.py), else opens a new one;
    the page's leave closes it.
    """

    __tablename__ = "live_attendance"
    __table_args__ = (Index("ix_live_attendance_person", "stream_id", "user_id", "kind", "left_at"),
                      Index("ix_live_attendance_recent", "stream_id", "kind", "left_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("live_streams.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    guest: Mapped[bool] = mapped_column(Boolean, default=False)
    kind: Mapped[str] = mapped_column(String(8))  # live | replay
    joined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)  # the page said it left: the next heartbeat opens a new stretch


class LiveHand(OrgScoped, Base):
    """A raised hand in a stream's queue (lowered: the row goes); the queue is in ``raised_at`` order."""

    __tablename__ = "live_hands"
    __table_args__ = (UniqueConstraint("stream_id", "user_id", name="uq_live_hands_person"), Index("ix_live_hands_queue", "stream_id", "raised_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("live_streams.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class LiveRemoval(OrgScoped, Base):
    """A viewer a manager removed from a stream: they may not watch it again (404, as for a stream they never could)."""

    __tablename__ = "live_removals"
    __table_args__ = (UniqueConstraint("stream_id", "user_id", name="uq_live_removals_person"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("live_streams.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    removed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    removed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Clinic(OrgScoped, Base):
    """A hospital's clinic: patients queue at its link ``/consult/<link_token>`` for its doctors (rooms/consultations/)."""

    __tablename__ = "clinics"
    __table_args__ = (UniqueConstraint("link_token", name="uq_clinics_link_token"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    link_token: Mapped[str] = mapped_column(String(64))  # the public link's secret: whoever has it may queue
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClinicDoctor(OrgScoped, Base):
    """A member who serves a clinic's queue."""

    __tablename__ = "clinic_doctors"
    __table_args__ = (
        UniqueConstraint("clinic_id", "user_id", name="uq_clinic_doctors_clinic_user"),
        Index("ix_clinic_doctors_user", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class Consultation(OrgScoped, Base):
    """One patient's place in a clinic's queue and, once a doctor calls them, their consultation: the row the hospital exports.

    ``status``: waiting → called (a doctor took them; their 1:1 meeting exists) → started (the patient
    joined it) → ended; or lapsed (their page was away longer than the grace period while waiting) or
    left (they gave up their place). ``away_since`` is set while no page of the patient is connected.
    """

    __tablename__ = "consultations"
    __table_args__ = (
        Index("ix_consultations_clinic_status_queued", "clinic_id", "status", "queued_at"),
        Index("ix_consultations_clinic_ended", "clinic_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id", ondelete="CASCADE"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))  # the guest account of the patient's session
    patient_name: Mapped[str] = mapped_column(String(100))
    patient_phone: Mapped[str] = mapped_column(String(32))  # E.164, as the code was sent to it
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    queued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    away_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    doctor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id", ondelete="SET NULL"))
    called_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    notes: Mapped[str] = mapped_column(Text, default="")


class LiveReplay(OrgScoped, Base):
    """A livestream's replay: its HLS segments in one fMP4 platform file (``file_id``, owner kind ``live_replay``).

    Made when the stream's segmenter starts (the file empty, refused when the
    organisation's quota is full), ``ready`` with its VOD playlist (byte ranges
    of that file) when the stream ends, deleted with its file at ``expires_at``
    (the organisation's retention: ``MUSTER_ROOMS_LIVE_REPLAY_DAYS``).
    """

    __tablename__ = "live_replays"
    __table_args__ = (UniqueConstraint("stream_id", name="uq_live_replays_stream_id"), Index("ix_live_replays_expires_at", "expires_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("live_streams.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="recording")  # recording | ready | failed
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id", ondelete="SET NULL"))  # NULL: failed, or deleted
    playlist: Mapped[str] = mapped_column(Text, default="")
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
