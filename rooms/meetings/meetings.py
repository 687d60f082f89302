"""Meetings as rows: create, change (invitees too), end, and the checks on the way in (passcode, lock, cap).

Passcodes are short, so they are stored as HMAC-SHA256 under the server's
secret key (no per-guess argon2 cost needed) and guarded by limits on wrong
guesses, kept as ``MeetingPasscodeFailure`` rows that every node shares: each
guesser (a signed-in person by account, anyone else by address) may fail
``passcode_max_failures`` times per window, and people not signed in, from all
their addresses together, ``passcode_max_failures_per_meeting`` times, which
bounds guessing from many addresses. Neither lock reaches anyone else: a
signed-in member counts only their own failures, and the host and co-hosts
(who may change the passcode anyway) are not asked for it. The check runs
before the guess is compared, so a locked guesser learns nothing from a right
one. Cost: one or two indexed ``OFFSET limit-1`` reads per join, as in
server/accounts/ratelimit.py; a failure inserts a row and deletes the rows the
window left behind.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import secrets
import time

from sqlalchemy import and_, delete, func, insert, or_, select, update

from rooms.config import RoomsSettings
from rooms.models import Meeting, MeetingCoHost, MeetingInvitee, MeetingParticipant, MeetingPasscodeFailure
from server.accounts.auth import GuestScope, Principal
from server.accounts.devices import do_revoke_matching_sessions
from server.accounts.models import DeviceSession
from server.db import Transaction, utcnow
from server.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound, RateLimited
from server.gateway.events import emit
from server.i18n import _
from server.orgs.models import Membership

TICKET_TTL_S = 600
INVITED_EVENT = "meeting.invited"  # to each invitee, so their home and meetings pages show it at once
UNINVITED_EVENT = "meeting.uninvited"  # to whoever is no longer invited: it leaves their lists at once
MAX_INVITEES = 500
GUEST_SCOPE_KIND = "meeting"  # guests' sessions are scoped to ("meeting", id): rooms/meetings/guests.py
PASSCODE_LENGTH = (4, 32)


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


async def is_member(tx: Transaction, user_id: int) -> bool:
    """Whether the person is (still) in the transaction's organisation: a ticket outlives neither a removal nor a guest's scope."""
    return await tx.session.scalar(select(Membership.id).where(Membership.user_id == user_id)) is not None


async def check_members(tx: Transaction, user_ids: list[int], field: str) -> None:
    if not user_ids:
        return
    found = set(await tx.session.scalars(select(Membership.user_id).where(Membership.user_id.in_(user_ids))))
    missing = sorted(set(user_ids) - found)
    if missing:
        raise InvalidInput("only members of the organisation can be named here; not members: {missing}", field=field,
                           missing=", ".join(map(str, missing)))


async def do_create_meeting(tx: Transaction, secret_key: str, *, host_id: int, title: str, scheduled_at: dt.datetime | None,
                            passcode: str | None, lobby_enabled: bool, cap: int, cohosts: list[int],
                            invitees: list[int] = (), duration_min: int | None = None) -> Meeting:
    """The meeting, its co-hosts and invitees; each invitee is told (``meeting.invited``, after commit)."""
    check_passcode(passcode)
    await check_members(tx, cohosts, "cohost_ids")
    await check_members(tx, list(invitees), "invitee_ids")
    token = secrets.token_urlsafe(24)
    meeting = Meeting(
        org_id=tx.org_id, title=title, host_id=host_id, scheduled_at=scheduled_at, duration_min=duration_min, join_token=token,
        passcode_hash=passcode_hash(secret_key, token, passcode) if passcode else None,
        locked=False, lobby_enabled=lobby_enabled, cap=cap,
        status="scheduled" if scheduled_at else "live", created_at=utcnow(),
    )
    tx.session.add(meeting)
    await tx.session.flush()
    for user_id in sorted(set(cohosts) - {host_id}):
        tx.session.add(MeetingCoHost(org_id=tx.org_id, meeting_id=meeting.id, user_id=user_id))
    await _add_invitees(tx, meeting, sorted(set(invitees) - {host_id}))
    await tx.session.flush()
    return meeting


async def _add_invitees(tx: Transaction, meeting: Meeting, user_ids: list[int]) -> None:
    """Invite ``user_ids`` (none invited yet); each is told ``meeting.invited`` after commit."""
    if not user_ids:
        return
    await tx.session.execute(insert(MeetingInvitee), [{"org_id": tx.org_id, "meeting_id": meeting.id, "user_id": u} for u in user_ids])
    await emit(tx, user_ids, INVITED_EVENT, {"org_id": tx.org_id, "meeting_id": meeting.id, "title": meeting.title,
                                             "scheduled_at": meeting.scheduled_at.isoformat() if meeting.scheduled_at else None})


async def invitees_of(tx: Transaction, meeting_id: int) -> list[tuple[int, str]]:
    """The meeting's invitees who are still members, with the names the directory shows, by name."""
    rows = await tx.session.execute(
        select(MeetingInvitee.user_id, Membership.display_name).join(Membership, Membership.user_id == MeetingInvitee.user_id)
        .where(MeetingInvitee.meeting_id == meeting_id).order_by(Membership.display_name, MeetingInvitee.user_id)
    )
    return [(user_id, name) for user_id, name in rows]


async def do_invite(tx: Transaction, meeting: Meeting, user_ids: list[int]) -> list[int]:
    """Invite more members to a meeting that has not ended; returns who was newly invited (the host and those
    already invited are left as they are). At most ``MAX_INVITEES`` in all."""
    check_not_ended(meeting)
    await check_members(tx, user_ids, "user_ids")
    already = set(await tx.session.scalars(select(MeetingInvitee.user_id).where(MeetingInvitee.meeting_id == meeting.id)))
    new = sorted(set(user_ids) - already - {meeting.host_id})
    if len(already) + len(new) > MAX_INVITEES:
        raise InvalidInput("a meeting may have at most {limit} invitees; it has {current}", field="user_ids",
                           limit=MAX_INVITEES, current=len(already))
    await _add_invitees(tx, meeting, new)
    return new


async def do_uninvite(tx: Transaction, meeting: Meeting, user_id: int) -> None:
    """Take one person off a meeting's invitees; they are told ``meeting.uninvited`` (the link still works for members)."""
    check_not_ended(meeting)
    removed = await tx.session.execute(
        delete(MeetingInvitee).where(MeetingInvitee.meeting_id == meeting.id, MeetingInvitee.user_id == user_id)
        .execution_options(synchronize_session=False)
    )
    if removed.rowcount == 0:
        raise NotFound("this person is not invited to the meeting", field="user_id")
    await emit(tx, [user_id], UNINVITED_EVENT, {"org_id": tx.org_id, "meeting_id": meeting.id})


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


def check_passcode(passcode: str | None) -> None:
    """A passcode short enough to guess in a window's tries is refused, when a meeting is made and when it is changed."""
    shortest, longest = PASSCODE_LENGTH
    if passcode is not None and not shortest <= len(passcode) <= longest:
        raise InvalidInput("a passcode needs {shortest} to {longest} characters (an empty one removes it)", field="passcode", shortest=shortest, longest=longest)


def check_not_ended(meeting: Meeting) -> None:
    if meeting.status == "ended":
        raise Gone("this meeting has ended")


async def do_update_meeting(tx: Transaction, secret_key: str, meeting: Meeting, changes: dict) -> Meeting:
    check_not_ended(meeting)
    if "passcode" in changes:
        passcode = changes.pop("passcode") or None
        check_passcode(passcode)
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


async def do_sign_out_guests(tx: Transaction, meeting_id: int) -> None:
    """An ended meeting's guests go with it: their sessions end, and ``session.revoked`` closes their sockets on every node.

    Called once the seats were told ``meeting.ended`` (so a guest's page says
    that, not "disconnected"); one UPDATE for all of them.
    """
    await do_revoke_matching_sessions(tx, and_(
        DeviceSession.guest_org_id == tx.org_id, DeviceSession.guest_scope_kind == GUEST_SCOPE_KIND,
        DeviceSession.guest_scope_id == meeting_id,
    ))


def passcode_guesser(user_id: int | None, address: str) -> str:
    """Whose wrong passcodes count together: a signed-in person's own, or an address's."""
    return f"user:{user_id}" if user_id is not None else f"addr:{address}"[:80]


async def _limit_lifts_at(tx: Transaction, settings: RoomsSettings, limit: int, *which) -> dt.datetime | None:
    """When the limit over the failures matching ``which`` lifts, if they reached it within the window."""
    oldest_that_counts = await tx.session.scalar(
        select(MeetingPasscodeFailure.at)
        .where(*which, MeetingPasscodeFailure.at > utcnow() - dt.timedelta(seconds=settings.passcode_window_s))
        .order_by(MeetingPasscodeFailure.at.desc()).limit(1).offset(limit - 1)
    )
    return None if oldest_that_counts is None else oldest_that_counts + dt.timedelta(seconds=settings.passcode_window_s)


async def check_passcode_guessing(tx: Transaction, settings: RoomsSettings, meeting: Meeting, guesser: str) -> None:
    """Raise ``RateLimited`` if this guesser, or (for someone not signed in) everyone not signed in, used up their wrong passcodes."""
    limits = [(settings.passcode_max_failures, _("too many wrong passcodes for this meeting from you; try again in {seconds} seconds"),
               [MeetingPasscodeFailure.key == guesser])]
    if guesser.startswith("addr:"):
        limits.append((settings.passcode_max_failures_per_meeting,
                       _("too many wrong passcodes for this meeting from people not signed in; try again in {seconds} seconds"),
                       [MeetingPasscodeFailure.key.startswith("addr:")]))
    for limit, message, which in limits:
        lifts_at = await _limit_lifts_at(tx, settings, limit, MeetingPasscodeFailure.meeting_id == meeting.id, *which)
        if lifts_at is not None:
            retry_after_s = max(1, math.ceil((lifts_at - utcnow()).total_seconds()))
            raise RateLimited(message, retry_after_s=retry_after_s, seconds=retry_after_s)


async def do_check_passcode(
    tx: Transaction, settings: RoomsSettings, secret_key: str, meeting: Meeting, passcode: str | None, guesser: str,
) -> bool:
    """True if the passcode is right (or none is set); a wrong one counts against the guesser (see the module docstring)."""
    if meeting.passcode_hash is None:
        return True
    await check_passcode_guessing(tx, settings, meeting, guesser)
    if passcode and hmac.compare_digest(passcode_hash(secret_key, meeting.join_token, passcode), meeting.passcode_hash):
        return True
    now = utcnow()
    tx.session.add(MeetingPasscodeFailure(org_id=meeting.org_id, meeting_id=meeting.id, key=guesser, at=now))
    await tx.session.execute(
        delete(MeetingPasscodeFailure).where(MeetingPasscodeFailure.at <= now - dt.timedelta(seconds=settings.passcode_window_s))
    )
    await tx.session.flush()
    return False


async def joining_as(tx: Transaction, meeting: Meeting, principal: Principal | None) -> tuple[int | None, str]:
    """Who follows the link, and in which role: a member with their account, this meeting's guest again, or a new guest (no user yet)."""
    if principal is not None and principal.guest is None and await tx.session.scalar(select(Membership.id).where(Membership.user_id == principal.user_id)):
        user_id = principal.user_id
        return user_id, "host" if meeting.host_id == user_id else "cohost" if user_id in await cohost_ids(tx, meeting.id) else "member"
    if principal is not None and principal.guest == GuestScope(meeting.org_id, GUEST_SCOPE_KIND, meeting.id):
        return principal.user_id, "guest"
    return None, "guest"


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
        raise Conflict("meeting is full ({cap})", code="meeting_full", cap=meeting.cap)

