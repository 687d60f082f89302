"""Livestreams as rows: who may start, manage and watch one, its states, its stream key, its publisher claim.

Who may do what (decided here, in one place):

* **start** a stream from a group: that group's owners and admins (a class
  group's teachers), not its plain members and not an organisation admin who
  is not in the group: a stream speaks to the group in its host's name;
* **manage** it (change, end, stream key, public link): its host, the group's
  owners and admins, and the organisation's admins;
* **watch** it: the group's members, the organisation's admins, and guests
  whose session is scoped to this one stream (``("live", id)``: they came by
  the public link, which exists only while the host allows outsiders).
  Anyone else in the organisation gets 404, like another organisation, and
  so does a viewer a manager removed from the stream (``live_removals``).

States: ``scheduled`` (a time is set and nobody publishes yet) → ``live``
(created without a time, started by the host, or when a publisher first
connects) → ``ended`` (by the host, by the publisher's WHIP ``DELETE``, or when
the group goes). Ending is final: the key stops working, the publisher is
dropped on whichever node holds it (bus ``live-streams``), the stream's
guests are signed out (their sockets close).
"""
from __future__ import annotations

import datetime as dt
import hmac
import json
import secrets

from sqlalchemy import and_, or_, select, update

from rooms.live.events import tell
from rooms.models import LiveRemoval, LiveStream
from server.accounts.auth import hash_token
from server.accounts.devices import do_revoke_matching_sessions
from server.accounts.models import DeviceSession
from server.db import Database, Transaction, utcnow
from server.errors import Forbidden, Gone, NotFound
from server.groups.models import Group, GroupMember
from server.orgs.access import OrgContext
from server.revocation import AccessRevoked

GUEST_SCOPE_KIND = "live"  # guests' sessions are scoped to ("live", stream id): rooms/live/guests.py
STREAMS_CHANNEL = "live-streams"  # bus: {"stream_id", "drop": reason, "ended"}: every node drops that stream's publisher (its viewers too if ended)
KEY_PREFIX = "mlk_"  # a stream key: shown once, kept as its SHA-256
MANAGERS = ("owner", "admin")  # group roles that start and manage streams


def watch_url(public_url: str, stream: LiveStream) -> str:
    return f"{public_url.rstrip('/')}/live/{stream.id}"


def new_key() -> tuple[str, str]:
    """A stream key and its hash (the key is shown once, the hash stored)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, hash_token(key)


def key_matches(stream: LiveStream, key: str | None) -> bool:
    return bool(key) and stream.key_hash is not None and hmac.compare_digest(stream.key_hash, hash_token(key))


async def org_of_stream(db: Database, stream_id: int) -> int:
    """The organisation a stream belongs to (for the routes that name a stream but no organisation: WHIP, WHEP, the
    pages); 404 if there is no such stream. What the caller may do is decided after, inside that organisation."""
    async with db.transaction() as tx:
        org_id = await tx.session.scalar(select(LiveStream.org_id).where(LiveStream.id == stream_id))
    if org_id is None:
        raise NotFound("no such stream", field="stream_id")
    return org_id


async def get_stream(tx: Transaction, stream_id: int) -> LiveStream:
    stream = await tx.session.scalar(select(LiveStream).where(LiveStream.id == stream_id))
    if stream is None:
        raise NotFound("no such stream", field="stream_id")
    return stream


async def group_role(tx: Transaction, group_id: int, user_id: int) -> str | None:
    return await tx.session.scalar(select(GroupMember.role).where(GroupMember.group_id == group_id, GroupMember.user_id == user_id))


async def check_may_start(tx: Transaction, org: OrgContext, group_id: int) -> Group:
    """The group, if the caller may start a stream from it (its owner or an admin); 404 for a group they cannot see."""
    group = await tx.session.scalar(select(Group).where(Group.id == group_id, Group.kind == "group", Group.external.is_(False)))
    role = await group_role(tx, group_id, org.user_id) if group is not None else None
    if group is None or (role is None and not org.is_admin):
        raise NotFound("no such group", field="group_id")
    if role not in MANAGERS:
        raise Forbidden("only the group's owner or an admin of the group can start a livestream from it")
    return group


async def check_may_watch(tx: Transaction, org: OrgContext, stream_id: int) -> LiveStream:
    """The stream, if the caller may watch it (see the module docstring); 404 otherwise, whoever they are."""
    if not org.principal.may_see(GUEST_SCOPE_KIND, stream_id):
        raise NotFound("no such stream", field="stream_id")
    stream = await get_stream(tx, stream_id)
    if org.principal.is_guest:
        if not stream.allow_guests:
            raise NotFound("no such stream", field="stream_id")
    elif not org.is_admin and await group_role(tx, stream.group_id, org.user_id) is None:
        raise NotFound("no such stream", field="stream_id")
    if await tx.session.scalar(select(LiveRemoval.id).where(LiveRemoval.stream_id == stream_id, LiveRemoval.user_id == org.user_id)):
        raise NotFound("no such stream", field="stream_id")
    return stream


def loses_stream(revoked: "AccessRevoked", org_id: int, user_id: int, group_id: int, stream_id: int) -> bool:
    """Whether a revocation takes the stream away from one of its watchers: the organisation (``scope`` None), the
    stream's group, or the stream itself (a guest whose public link was withdrawn, a viewer a manager removed)."""
    return org_id == revoked.org_id and user_id in revoked.user_ids and (
        revoked.scope is None or revoked.scope == ("group", group_id) or revoked.scope == (GUEST_SCOPE_KIND, stream_id))


async def may_manage(tx: Transaction, org: OrgContext, stream: LiveStream) -> bool:
    return (await managed(tx, org, [stream]))[stream.id]


async def managed(tx: Transaction, org: OrgContext, streams: list[LiveStream]) -> dict[int, bool]:
    """Which of the streams the caller may manage: one query for the caller's roles in their groups, whatever their number."""
    if org.principal.is_guest or not streams:
        return {stream.id: False for stream in streams}
    roles = dict((await tx.session.execute(select(GroupMember.group_id, GroupMember.role).where(
        GroupMember.user_id == org.user_id, GroupMember.group_id.in_(sorted({stream.group_id for stream in streams}))))).all())
    return {stream.id: org.is_admin or stream.host_id == org.user_id or roles.get(stream.group_id) in MANAGERS for stream in streams}


async def check_may_manage(tx: Transaction, org: OrgContext, stream_id: int) -> LiveStream:
    stream = await check_may_watch(tx, org, stream_id)
    if not await may_manage(tx, org, stream):
        raise Forbidden("only the stream's host, the group's owner or admins, or an organisation admin can change it")
    return stream


def check_not_ended(stream: LiveStream) -> None:
    if stream.status == "ended":
        raise Gone("this livestream has ended")


async def do_create_stream(tx: Transaction, org: OrgContext, *, group_id: int, title: str, scheduled_at: dt.datetime | None,
                           allow_guests: bool) -> tuple[LiveStream, str]:
    """The stream and its key (shown only now); without a time it is live at once."""
    await check_may_start(tx, org, group_id)
    key, key_hash = new_key()
    now = utcnow()
    stream = LiveStream(
        org_id=tx.org_id, group_id=group_id, title=title, host_id=org.user_id, scheduled_at=scheduled_at,
        status="scheduled" if scheduled_at else "live", allow_guests=allow_guests, key_hash=key_hash, created_at=now,
        started_at=None if scheduled_at else now,
    )
    tx.session.add(stream)
    await tx.session.flush()
    return stream, key


async def do_go_live(tx: Transaction, stream: LiveStream) -> bool:
    """A scheduled stream goes live (the host started it, or its publisher connected); True if it changed now.
    One conditional UPDATE: of two nodes doing it at once, one tells the members."""
    changed = await tx.session.execute(
        update(LiveStream).where(LiveStream.id == stream.id, LiveStream.status == "scheduled")
        .values(status="live", started_at=utcnow()).execution_options(synchronize_session=False)
    )
    await tx.session.refresh(stream)
    return changed.rowcount == 1


def drop_publisher(tx: Transaction, stream_id: int, reason: str, *, ended: bool = False) -> None:
    """After commit, whichever node holds the stream's publisher drops it (its media connection closes); an ended
    stream's WHEP viewers are dropped too, on every node."""
    tx.publish(STREAMS_CHANNEL, json.dumps({"stream_id": stream_id, "drop": reason, "ended": ended}).encode())


async def do_end_stream(tx: Transaction, stream: LiveStream, reason: str) -> bool:
    """End the stream for good (True if it was not ended yet): key gone, publisher dropped, guests signed out."""
    if stream.status == "ended":
        return False
    stream.status, stream.ended_at, stream.key_hash = "ended", utcnow(), None
    stream.publisher_id = stream.publisher_node = stream.publisher_seen_at = None
    await tx.session.flush()
    drop_publisher(tx, stream.id, reason, ended=True)
    tell(tx, stream.id, "live.ended", {})
    await do_sign_out_guests(tx, stream)
    return True


async def do_sign_out_guests(tx: Transaction, stream: LiveStream) -> None:
    """The stream's guests' sessions end (one UPDATE); ``session.revoked`` closes their sockets on every node."""
    await do_revoke_matching_sessions(tx, and_(
        DeviceSession.guest_org_id == stream.org_id, DeviceSession.guest_scope_kind == GUEST_SCOPE_KIND,
        DeviceSession.guest_scope_id == stream.id,
    ))


async def do_new_stream_key(tx: Transaction, stream: LiveStream) -> str:
    """A new stream key (shown only now); the old one stops working and its publisher is dropped."""
    check_not_ended(stream)
    key, stream.key_hash = new_key()
    await _release_publisher(tx, stream, "the stream key was changed")
    return key


async def do_revoke_stream_key(tx: Transaction, stream: LiveStream) -> None:
    """No key works until a new one is made; whoever publishes with the old one is dropped at once."""
    stream.key_hash = None
    await _release_publisher(tx, stream, "the stream key was revoked")


async def _release_publisher(tx: Transaction, stream: LiveStream, reason: str) -> None:
    if stream.publisher_id is not None:
        stream.publisher_id = stream.publisher_node = stream.publisher_seen_at = None
        drop_publisher(tx, stream.id, reason)
    await tx.session.flush()


async def do_claim_publisher(tx: Transaction, stream: LiveStream, resource_id: str, node: str, *, lease_s: float) -> bool:
    """Make ``resource_id`` the stream's one publisher, unless another holds it and its node renewed it within
    ``lease_s``: one conditional UPDATE, so of two publishers at once exactly one wins (the other gets 409)."""
    now = utcnow()
    claimed = await tx.session.execute(
        update(LiveStream).where(
            LiveStream.id == stream.id, LiveStream.status != "ended",
            or_(LiveStream.publisher_id.is_(None), LiveStream.publisher_seen_at < now - dt.timedelta(seconds=lease_s)),
        ).values(publisher_id=resource_id, publisher_node=node, publisher_seen_at=now).execution_options(synchronize_session=False)
    )
    return claimed.rowcount == 1


async def do_release_publisher(tx: Transaction, stream_id: int, resource_id: str) -> None:
    """The publisher ``resource_id`` is gone (left, failed, dropped): the stream may be published again."""
    await tx.session.execute(
        update(LiveStream).where(LiveStream.id == stream_id, LiveStream.publisher_id == resource_id)
        .values(publisher_id=None, publisher_node=None, publisher_seen_at=None).execution_options(synchronize_session=False)
    )


async def do_refresh_publishers(tx: Transaction, resource_ids: list[str], node: str) -> None:
    await tx.session.execute(
        update(LiveStream).where(LiveStream.publisher_id.in_(resource_ids), LiveStream.publisher_node == node)
        .values(publisher_seen_at=utcnow()).execution_options(synchronize_session=False)
    )
