"""Groups API: parse, authorise, call one ``do_*`` function or query, answer.

Every route is under ``/api/v1/orgs/{org_id}/groups`` (the organisation is
resolved first, server/orgs/access.py) and every ``{group_id}`` route loads the
caller's membership (server/groups/access.py). Guests invited to a group use
the routes marked ``auth="any"`` for that group only; external contacts
(server/contacts/) the same routes (``external=True``) for their external groups only.
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web
from pydantic import Field
from sqlalchemy import or_, select

from server.api import Model, endpoint, path_int
from server.appkeys import DB, SETTINGS
from server.db.keyset import keyset_page
from server.groups import announcements, fanout, files, guests, home, notifying, personal_data, resync, search  # noqa: F401  (guests registers the 'group' invite kind)
from server.db import Transaction
from server.groups.access import GroupAccess, load_group
from server.groups.direct import do_open_direct_chat, peer_names
from server.groups.forwarding import do_forward
from server.groups.mentions import unread_mentions
from server.groups.membership import (
    do_add_members,
    do_create_group,
    do_leave,
    do_mute,
    do_remove_members,
    do_set_role,
    do_update_group,
    member_count,
)
from server.groups.messages import do_edit_message, do_post_message, do_react, do_recall_message, history, load_message, messages_out
from server.groups.models import GroupMember
from server.groups.reading import do_mark_read, member_name, member_name_column, my_groups, readers, with_names
from server.groups.schemas import (
    AnnouncementIn,
    AnnouncementOut,
    DirectChatIn,
    ForwardIn,
    GroupDetailOut,
    GroupIn,
    GroupOut,
    GroupPatch,
    HistoryOut,
    HistoryQuery,
    MemberIdsIn,
    MemberOut,
    MemberPage,
    MentionsOut,
    MembersChangedOut,
    MessageEditIn,
    MessageIn,
    MessageOut,
    MuteIn,
    MyGroupOut,
    OpensOut,
    OpensQuery,
    ReactionIn,
    ReadersOut,
    ReadersQuery,
    ReadIn,
    ReadOut,
    RoleIn,
)
from server.i18n import _
from server.orgs.access import OrgContext
from server.orgs.directory import name_matches
from server.personal_data.parts import register_personal_data
from server.web.navigation import Place, register_place
from server.web.routes import WEB_ROUTE_PREFIX

routes = web.RouteTableDef()
PAGE = Path(__file__).parent / "web" / "groups.html"
GROUPS = "/api/v1/orgs/{org_id}/groups"
GROUP = GROUPS + "/{group_id}"
MESSAGE = GROUP + "/messages/{seq}"


async def group_detail(tx: Transaction, access: GroupAccess) -> GroupDetailOut:
    """The group as the caller sees it: their role and read pointer; a direct chat under the other person's name."""
    group = access.group
    peer_id, name = (await peer_names(tx, group.org_id, [(group.id, group.direct_key)], [access.user_id])).get((group.id, access.user_id), (None, group.name))
    return GroupDetailOut(
        **GroupOut.model_validate(group).model_dump() | {"name": name},
        peer_id=peer_id,
        role=access.member.role,
        muted=access.member.muted,
        read_seq=access.member.read_seq,
        member_count=await member_count(tx, group.id),
    )


@routes.get(GROUPS)
@endpoint(response=list[MyGroupOut], auth="any", external=True)
async def list_groups(request: web.Request, org: OrgContext) -> list[MyGroupOut]:
    """The caller's groups, most recently active first, with unread counts."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        return await my_groups(tx, org.user_id)


@routes.get("/api/v1/orgs/{org_id}/mentions")
@endpoint(response=MentionsOut, auth="any")
async def list_mentions(request: web.Request, org: OrgContext) -> MentionsOut:
    """The caller's unread mentions (and @all) per group and in total: the badge. ``group.mentions`` events update it live."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        return await unread_mentions(tx, org.user_id)


@routes.post(GROUPS)
@endpoint(body=GroupIn, response=GroupDetailOut, status=201)
async def create_group(request: web.Request, body: GroupIn, org: OrgContext) -> GroupDetailOut:
    """Create a group from a department (with its sub-departments), a list of people, or both; the caller owns it."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        group = await do_create_group(
            tx,
            org,
            request.app[SETTINGS],
            name=body.name,
            department_id=body.department_id,
            member_ids=body.member_ids,
            allow_guests=body.allow_guests,
        )
        return await group_detail(tx, await load_group(tx, org, group.id))


@routes.post("/api/v1/orgs/{org_id}/direct-chats")
@endpoint(body=DirectChatIn, response=GroupDetailOut)
async def open_direct_chat(request: web.Request, body: DirectChatIn, org: OrgContext) -> GroupDetailOut:
    """The caller's direct chat with a person of the organisation: made the first time, the same one every time after."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        group = await do_open_direct_chat(tx, org, body.user_id)
        return await group_detail(tx, await load_group(tx, org, group.id))


@routes.get(GROUP)
@endpoint(response=GroupDetailOut, auth="any", external=True)
async def get_group(request: web.Request, org: OrgContext) -> GroupDetailOut:
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        return await group_detail(tx, await load_group(tx, org, path_int(request, "group_id")))


@routes.patch(GROUP)
@endpoint(body=GroupPatch, response=GroupDetailOut)
async def update_group(request: web.Request, body: GroupPatch, org: OrgContext) -> GroupDetailOut:
    """Rename (group admins) or allow guests (the owner)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        access = await load_group(tx, org, path_int(request, "group_id"))
        await do_update_group(tx, access, name=body.name, allow_guests=body.allow_guests)
        return await group_detail(tx, access)


class MembersQuery(Model):
    q: str = Field("", max_length=200, description="Part of a name (any case), or of its pinyin or initials: 'zhang', 'zw' find 张伟.")
    after_user_id: int = Field(0, ge=0, lt=2**63)
    limit: int = Field(200, ge=1, le=1000)


@routes.get(GROUP + "/members")
@endpoint(query=MembersQuery, response=MemberPage, auth="any", external=True)
async def list_members(request: web.Request, query: MembersQuery, org: OrgContext) -> MemberPage:
    """Members by user id, a page at a time; with ``q`` only those whose name matches (the @mention suggestions)."""
    statement = with_names(select(GroupMember, member_name()))
    if query.q.strip():
        statement = statement.where(or_(*name_matches(query.q.strip(), member_name_column())))
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        access = await load_group(tx, org, path_int(request, "group_id"))
        page = await keyset_page(tx, statement.where(GroupMember.group_id == access.group.id),
                                 GroupMember.user_id, after=query.after_user_id, limit=query.limit)
    members = [
        MemberOut(user_id=m.user_id, name=name, role=m.role, muted=m.muted, read_seq=m.read_seq, joined_at=m.joined_at)
        for m, name in page.rows
    ]
    return MemberPage(members=members, next_after_user_id=page.next_after)


@routes.post(GROUP + "/members")
@endpoint(body=MemberIdsIn, response=MembersChangedOut)
async def add_members(request: web.Request, body: MemberIdsIn, org: OrgContext) -> MembersChangedOut:
    """Add people of the organisation, in bulk (group admins)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        access = await load_group(tx, org, path_int(request, "group_id"))
        added = await do_add_members(tx, access, body.user_ids)
        return MembersChangedOut(added=added, member_count=await member_count(tx, access.group.id))


@routes.post(GROUP + "/members/remove")
@endpoint(body=MemberIdsIn, response=MembersChangedOut)
async def remove_members(request: web.Request, body: MemberIdsIn, org: OrgContext) -> MembersChangedOut:
    """Remove members, in bulk (group admins; admins only by the owner)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        access = await load_group(tx, org, path_int(request, "group_id"))
        removed = await do_remove_members(tx, access, body.user_ids)
        return MembersChangedOut(removed=removed, member_count=await member_count(tx, access.group.id))


@routes.put(GROUP + "/members/{user_id}/role")
@endpoint(body=RoleIn, status=204)
async def set_role(request: web.Request, body: RoleIn, org: OrgContext) -> None:
    """The owner names or demotes admins, or hands the group over."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        access = await load_group(tx, org, path_int(request, "group_id"))
        await do_set_role(tx, access, path_int(request, "user_id"), body.role)


@routes.post(GROUP + "/leave")
@endpoint(status=204, auth="any", external=True)
async def leave(request: web.Request, org: OrgContext) -> None:
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await do_leave(tx, await load_group(tx, org, path_int(request, "group_id")))


@routes.put(GROUP + "/mute")
@endpoint(body=MuteIn, status=204, auth="any", external=True)
async def mute(request: web.Request, body: MuteIn, org: OrgContext) -> None:
    """Mute or unmute the group for the caller."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await do_mute(tx, await load_group(tx, org, path_int(request, "group_id")), body.muted)


@routes.get(GROUP + "/messages")
@endpoint(query=HistoryQuery, response=HistoryOut, auth="any", external=True)
async def list_messages(request: web.Request, query: HistoryQuery, org: OrgContext) -> HistoryOut:
    """History: ``changed_after`` a change number to catch up (new messages, edits, recalls, reactions, in change
    order), ``after_seq`` for the messages after one, else the newest page before ``before_seq``."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        access = await load_group(tx, org, path_int(request, "group_id"))
        page, more = await history(
            tx, access.group.id, after_seq=query.after_seq, before_seq=query.before_seq, changed_after=query.changed_after, limit=query.limit
        )
        group = access.group
        return HistoryOut(messages=await messages_out(tx, page), last_seq=group.last_seq, last_change_seq=group.last_change_seq, has_more=more)


@routes.post(GROUP + "/messages")
@endpoint(body=MessageIn, response=MessageOut, status=201, auth="any", external=True)
async def post_message(request: web.Request, body: MessageIn, org: OrgContext) -> MessageOut:
    """Send a text message (mentions, @all, a reply quoting an earlier message)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        access = await load_group(tx, org, path_int(request, "group_id"))
        return await do_post_message(
            tx,
            access,
            request.app[SETTINGS],
            body=body.body,
            mentions=body.mentions,
            mention_all=body.mention_all,
            reply_to_seq=body.reply_to_seq,
        )


@routes.patch(MESSAGE)
@endpoint(body=MessageEditIn, response=MessageOut, auth="any", external=True)
async def edit_message(request: web.Request, body: MessageEditIn, org: OrgContext) -> MessageOut:
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        access = await load_group(tx, org, path_int(request, "group_id"))
        return await do_edit_message(tx, access, request.app[SETTINGS], path_int(request, "seq"), body.body)


@routes.post(MESSAGE + "/recall")
@endpoint(response=MessageOut, auth="any", external=True)
async def recall_message(request: web.Request, org: OrgContext) -> MessageOut:
    """Take a message back within the recall window: its content is replaced for everyone."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        access = await load_group(tx, org, path_int(request, "group_id"))
        return await do_recall_message(tx, access, request.app[SETTINGS], path_int(request, "seq"))


@endpoint(body=ReactionIn, response=MessageOut, auth="any", external=True)
async def react(request: web.Request, body: ReactionIn, org: OrgContext) -> MessageOut:
    """PUT adds the caller's reaction (twice is once); POST .../remove takes it back."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        access = await load_group(tx, org, path_int(request, "group_id"))
        return await do_react(tx, access, path_int(request, "seq"), body.emoji, on=request.method == "PUT")


@routes.post(MESSAGE + "/forward")
@endpoint(body=ForwardIn, response=MessageOut, status=201, auth="any")
async def forward_message(request: web.Request, body: ForwardIn, org: OrgContext) -> MessageOut:
    """Post a copy of the message (with its file) in another group of the caller's, or in their direct chat with a
    person (``user_id``: opened if need be), marked as forwarded."""
    settings = request.app[SETTINGS]
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        source = await load_group(tx, org, path_int(request, "group_id"))
        target_id = body.group_id if body.user_id is None else (await do_open_direct_chat(tx, org, body.user_id)).id
        return await do_forward(tx, source, await load_group(tx, org, target_id), settings, path_int(request, "seq"))


routes.put(MESSAGE + "/reactions")(react)
routes.post(MESSAGE + "/reactions/remove")(react)


@routes.post(GROUP + "/read")
@endpoint(body=ReadIn, response=ReadOut, auth="any", external=True)
async def mark_read(request: web.Request, body: ReadIn, org: OrgContext) -> ReadOut:
    """Move the caller's read pointer forward; their other devices clear the badge (a ``group.read`` event)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        access = await load_group(tx, org, path_int(request, "group_id"))
        read_seq = await do_mark_read(tx, access, body.seq)
        return ReadOut(read_seq=read_seq, unread=max(access.group.last_seq - read_seq, 0))


@routes.get(MESSAGE + "/readers")
@endpoint(query=ReadersQuery, response=ReadersOut, auth="any", external=True)
async def message_readers(request: web.Request, query: ReadersQuery, org: OrgContext) -> ReadersOut:
    """Who has read a message and who has not yet, with counts, a page of one list at a time."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        access = await load_group(tx, org, path_int(request, "group_id"))
        message = await load_message(tx, access.group.id, path_int(request, "seq"))
        return await readers(
            tx, access, message.seq, message.sender_id, state=query.state, after_user_id=query.after_user_id, limit=query.limit
        )


@routes.get(GROUP + "/announcements")
@endpoint(response=list[AnnouncementOut], auth="any", external=True)
async def list_announcements(request: web.Request, org: OrgContext) -> list[AnnouncementOut]:
    """Pinned announcements, newest first, with how many members opened each."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        return await announcements.pinned(tx, await load_group(tx, org, path_int(request, "group_id")))


@routes.post(GROUP + "/announcements")
@endpoint(body=AnnouncementIn, response=AnnouncementOut, status=201)
async def announce(request: web.Request, body: AnnouncementIn, org: OrgContext) -> AnnouncementOut:
    """Post and pin an announcement (group admins)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        access = await load_group(tx, org, path_int(request, "group_id"))
        return await announcements.do_announce(tx, access, request.app[SETTINGS], body.body)


@routes.delete(GROUP + "/announcements/{seq}")
@endpoint(status=204)
async def unpin_announcement(request: web.Request, org: OrgContext) -> None:
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        access = await load_group(tx, org, path_int(request, "group_id"))
        await announcements.do_unpin(tx, access, path_int(request, "seq"))


@routes.post(GROUP + "/announcements/{seq}/open")
@endpoint(status=204, auth="any", external=True)
async def open_announcement(request: web.Request, org: OrgContext) -> None:
    """Record that the caller opened a pinned announcement."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        access = await load_group(tx, org, path_int(request, "group_id"))
        await announcements.do_open(tx, access, path_int(request, "seq"))


@routes.get(GROUP + "/announcements/{seq}/opens")
@endpoint(query=OpensQuery, response=OpensOut, auth="any", external=True)
async def announcement_opens(request: web.Request, query: OpensQuery, org: OrgContext) -> OpensOut:
    """Who has opened a pinned announcement and who has not, with counts, a page at a time."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        access = await load_group(tx, org, path_int(request, "group_id"))
        return await announcements.opens(
            tx, access, path_int(request, "seq"), state=query.state, after_user_id=query.after_user_id, limit=query.limit
        )


async def group_page(request: web.Request) -> web.FileResponse:
    """The group chat page (its data comes from the API above)."""
    return web.FileResponse(PAGE)


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
    app.router.add_get("/groups", group_page, name=WEB_ROUTE_PREFIX + "groups")
    app.router.add_static("/groups/static/", PAGE.parent / "static", name=WEB_ROUTE_PREFIX + "groups-static", append_version=False)
    register_place(app, Place("groups", "/groups", _("Groups"), 10, outsiders=True))
    home.setup(app)
    fanout.setup(app)
    notifying.setup(app)
    resync.setup(app)
    files.setup(app)
    search.setup(app)
    register_personal_data(app, personal_data.PART)
