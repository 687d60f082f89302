"""Meetings as rows: create, change, end, and the checks on the way in (passcode, lock, cap).

Passcodes are short, so they are stored as HMAC-SHA256 under the server's
secret key (no per-guess argon2 cost needed) and guarded by a per-meeting
limit on wrong guesses kept in the meeting row, which every node shares.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time

from sqlalchemy import func, or_, select, update

from rooms.config import RoomsSettings
from rooms.models import Meeting, MeetingCoHost, MeetingParticipant
from server.db import Transaction, utcnow
from server.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound, RateLimited
from server.orgs.models import Membership

TICKET_TTL_S = 600


def passcode_hash(secret_key: str, meeting_token: str, passcode: str) -> str:
    return hmac.new(secret_key.encode(), f"{meeting_token}:{passcode}".encode(), hashlib.sha256).hexdigest()


def join_url(public_url: str, meeting: Meeting) -> str:
    return f"{public_url.rstrip('/')}/m/{meeting.join_token}"


def issue_ticket(secret_key: str, meeting_id: int, user_id: int, role: str, now: float | None = None) -> str:
    """Proof that this user passed the link checks (passcode, lock, cap), for the WebSocket join."""
    expiry = int((time.time() if now is None else now) + TICKET_TTL_S)
    body = f"{meeting_id}.{user_id}.{role}.{expiry}"
    return body + "." + hmac.new(secret_key.encode(), body.encode(), hashlib.sha256).hexdigest()[:32]


def check_ticket(secret_key: str, ticket: object, user_id: int) -> tuple[int, str]:
    """The meeting id and role a ticket admits this user to; Forbidden otherwise."""
    parts = ticket.split(".") if isinstance(ticket, str) else []
    if len(parts) == 5:
        body, signature = ".".join(parts[:4]), parts[4]
        good = hmac.new(secret_key.encode(), body.encode(), hashlib.sha256).hexdigest()[:32]
        if hmac.compare_digest(good, signature) and parts[0].isdigit() and parts[1] == str(user_id) and parts[3].isdigit():
            if int(parts[3]) >= time.time():
                return int(parts[0]), parts[2]
            raise Forbidden("the meeting ticket expired: open the meeting link again")
    raise Forbidden("a valid meeting ticket is required: open the meeting link first")


async def cohost_ids(tx: Transaction, meeting_id: int) -> list[int]:
    return list(await tx.session.scalars(select(MeetingCoHost.user_id).where(MeetingCoHost.meeting_id == meeting_id).order_by(MeetingCoHost.user_id)))


async def check_members(tx: Transaction, user_ids: list[int]) -> None:
    if not user_ids:
        return
    found = set(await tx.session.scalars(select(Membership.user_id).where(Membership.user_id.in_(user_ids))))
    missing = sorted(set(user_ids) - found)
    if missing:
        raise InvalidInput(f"co-hosts must be members of the organisation; not members: {missing}", field="cohost_ids")


async def do_create_meeting(tx: Transaction, secret_key: str, *, host_id: int, title: str, scheduled_at: dt.datetime | None,
                            passcode: str | None, lobby_enabled: bool, cap: int, cohosts: list[int]) -> Meeting:
    await check_members(tx, cohosts)
    token = secrets.token_urlsafe(24)
    meeting = Meeting(
        org_id=tx.org_id, title=title, host_id=host_id, scheduled_at=scheduled_at, join_token=token,
        passcode_hash=passcode_hash(secret_key, token, passcode) if passcode else None,
        passcode_failures=0, locked=False, lobby_enabled=lobby_enabled, cap=cap,
        status="scheduled" if scheduled_at else "live", created_at=utcnow(),
    )
    tx.session.add(meeting)
    await tx.session.flush()
    for user_id in sorted(set(cohosts) - {host_id}):
        tx.session.add(MeetingCoHost(org_id=tx.org_id, meeting_id=meeting.id, user_id=user_id))
    await tx.session.flush()
    return meeting


async def get_meeting(tx: Transaction, meeting_id: int) -> Meeting:
    meeting = await tx.session.scalar(select(Meeting).where(Meeting.id == meeting_id))
    if meeting is None:
        raise NotFound("no such meeting", field="meeting_id")
    return meeting


async def is_host(tx: Transaction, meeting: Meeting, user_id: int) -> bool:
    if meeting.host_id == user_id:
        return True
    return user_id in await cohost_ids(tx, meeting.id)


async def check_may_manage(tx: Transaction, meeting: Meeting, user_id: int, is_admin: bool) -> None:
    if not (is_admin or await is_host(tx, meeting, user_id)):
        raise Forbidden("only the meeting's host, a co-host or an organisation admin can change it")


async def do_update_meeting(tx: Transaction, secret_key: str, meeting: Meeting, changes: dict) -> Meeting:
    if meeting.status == "ended":
        raise Gone("this meeting has ended")
    if "passcode" in changes:
        passcode = changes.pop("passcode")
        meeting.passcode_hash = passcode_hash(secret_key, meeting.join_token, passcode) if passcode else None
    for name, value in changes.items():
        setattr(meeting, name, value)
    await tx.session.flush()
    return meeting


async def do_claim_hosting(tx: Transaction, meeting: Meeting, node: str, *, lease_s: float) -> bool:
    """Make ``node`` the meeting's host, unless another node holds it and has refreshed it within ``lease_s``.

    One conditional UPDATE, so two nodes claiming at once cannot both win; a
    meeting whose node died (stopped refreshing) moves to the claimant.
    """
    now = utcnow()
    claimed = await tx.session.execute(
        update(Meeting)
        .where(Meeting.id == meeting.id, or_(
            Meeting.hosting_node.is_(None), Meeting.hosting_node == node,
            Meeting.hosting_seen_at.is_(None), Meeting.hosting_seen_at < now - dt.timedelta(seconds=lease_s),
        ))
        .values(hosting_node=node, hosting_seen_at=now, status="live")
        .execution_options(synchronize_session=False)
    )
    await tx.session.refresh(meeting)
    return claimed.rowcount == 1


async def do_refresh_hosting(tx: Transaction, meeting_ids: list[int], node: str) -> None:
    """The hosting node is alive: renew its lease on the meetings it holds."""
    await tx.session.execute(
        update(Meeting).where(Meeting.id.in_(meeting_ids), Meeting.hosting_node == node)
        .values(hosting_seen_at=utcnow()).execution_options(synchronize_session=False)
    )


async def do_end_meeting(tx: Transaction, meeting: Meeting) -> None:
    if meeting.status != "ended":
        meeting.status = "ended"
        meeting.ended_at = utcnow()
        meeting.hosting_node = None
        await tx.session.execute(
            MeetingParticipant.__table__.update()
            .where(MeetingParticipant.meeting_id == meeting.id, MeetingParticipant.left_at.is_(None))
            .values(left_at=utcnow())
        )
        await tx.session.flush()


async def do_check_passcode(tx: Transaction, settings: RoomsSettings, secret_key: str, meeting: Meeting, passcode: str | None) -> bool:
    """True if the passcode is right (or none is set); a wrong one counts against the meeting's limit."""
    if meeting.passcode_hash is None:
        return True
    now = utcnow()
    window_open = meeting.passcode_window_at is not None and now - meeting.passcode_window_at < dt.timedelta(seconds=settings.passcode_window_s)
    if window_open and meeting.passcode_failures >= settings.passcode_max_failures:
        retry = settings.passcode_window_s - int((now - meeting.passcode_window_at).total_seconds())
        raise RateLimited("too many wrong passcodes for this meeting; try again later", retry_after_s=max(retry, 1))
    if passcode and hmac.compare_digest(passcode_hash(secret_key, meeting.join_token, passcode), meeting.passcode_hash):
        return True
    if not window_open:
        meeting.passcode_window_at, meeting.passcode_failures = now, 0
    meeting.passcode_failures += 1
    await tx.session.flush()
    return False


async def open_seats(tx: Transaction, meeting: Meeting) -> int:
    inside = await tx.session.scalar(
        select(func.count()).select_from(MeetingParticipant)
        .where(MeetingParticipant.meeting_id == meeting.id, MeetingParticipant.left_at.is_(None))
    )
    return meeting.cap - (inside or 0)


async def check_may_enter(tx: Transaction, meeting: Meeting, *, host: bool) -> None:
    if meeting.status == "ended":
        raise Gone("this meeting has ended")
    if meeting.locked and not host:
        raise Forbidden("this meeting is locked: the host is not letting anyone new in")
    if await open_seats(tx, meeting) <= 0:
        raise Conflict(f"meeting is full ({meeting.cap})", code="meeting_full")

