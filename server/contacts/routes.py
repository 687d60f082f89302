"""External contacts API: parse, authorise, call one ``do_*`` function or query, answer.

Staff (``auth="user"``, any role) make links and external groups and see their
own contacts; organisation admins see all of them, set the caps and hand
contacts over. The outside person uses the three ``/api/v1/contact-links/...``
routes (the token in the body, never in a URL) and then the group routes
declared ``external=True`` (server/groups/routes.py) for their chats.
"""
from __future__ import annotations

from pathlib import Path

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.orm import aliased

from server.accounts.models import User
from server.api import endpoint, path_int
from server.appkeys import DB, PRINCIPAL, SETTINGS
from server.db.keyset import keyset_page
from server.audit.record import do_audit
from server.contacts import personal_data
from server.contacts.external_groups import do_add_contacts, do_create_external_group
from server.contacts.handover import do_hand_over_member
from server.contacts.joining import do_accept_link, do_remove_contact, do_sign_up_by_link, preview
from server.contacts.links import check_own_link, contact_url, do_create_link, do_revoke_link, my_live_links, qr_image
from server.contacts.models import ExternalContact
from server.contacts.policy import do_set_policy, load_policy
from server.contacts.schemas import (
    ContactIdsIn,
    ContactJoinedOut,
    ContactLinkCreatedOut,
    ContactLinkIn,
    ContactLinkOut,
    ContactOut,
    ContactPage,
    ContactsQuery,
    ExternalGroupIn,
    HandoverIn,
    HandoverOut,
    LinkPreviewOut,
    MyExternalChatOut,
    PolicyIn,
    PolicyOut,
    QrIn,
    SignedUpOut,
    SignUpIn,
    TokenIn,
)
from server.groups.access import load_group
from server.groups.membership import member_count
from server.groups.routes import group_detail
from server.groups.schemas import GroupDetailOut, MembersChangedOut
from server.orgs.access import OrgContext
from server.orgs.models import Membership, Organisation
from server.personal_data.parts import register_personal_data
from server.i18n import _
from server.web.navigation import Place, register_place
from server.web.routes import WEB_ROUTE_PREFIX

routes = web.RouteTableDef()
HERE = Path(__file__).parent / "web"
ORG = "/api/v1/orgs/{org_id}"


def chat_page(org_id: int, group_id: int | None) -> str:
    return f"/groups?org={org_id}&group={group_id}" if group_id else "/contacts"


def client_ip(request: web.Request) -> str:
    return request.remote or ""


# --- staff ---------------------------------------------------------------------------


@routes.post(ORG + "/contact-links")
@endpoint(body=ContactLinkIn, response=ContactLinkCreatedOut, status=201)
async def create_link(request: web.Request, body: ContactLinkIn, org: OrgContext) -> ContactLinkCreatedOut:
    """A link (and, with POST .../qr, its QR code) that makes whoever opens it the caller's external contact."""
    settings = request.app[SETTINGS]
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        token, link = await do_create_link(tx, org, settings, expires_in_s=body.expires_in_s, max_uses=body.max_uses)
    return ContactLinkCreatedOut(**ContactLinkOut.model_validate(link).model_dump(), token=token, url=contact_url(settings, token))


@routes.get(ORG + "/contact-links")
@endpoint(response=list[ContactLinkOut])
async def list_links(request: web.Request, org: OrgContext) -> list[ContactLinkOut]:
    """The caller's links that can still be used, newest first."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        return [ContactLinkOut.model_validate(link) for link in await my_live_links(tx, org)]


@routes.delete(ORG + "/contact-links/{link_id}")
@endpoint(status=204)
async def revoke_link(request: web.Request, org: OrgContext) -> None:
    """Withdraw a link (its creator or an organisation admin)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await do_revoke_link(tx, org, path_int(request, "link_id"))


@routes.post(ORG + "/contact-links/qr")
@endpoint(body=QrIn)
async def link_qr(request: web.Request, body: QrIn, org: OrgContext) -> web.Response:
    """The QR code of one of the caller's live links, given its token (SVG, or PNG to print)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await check_own_link(tx, org, body.token)
    image = qr_image(contact_url(request.app[SETTINGS], body.token), body.format)
    content_type = "image/svg+xml" if body.format == "svg" else "image/png"
    headers = {"Cache-Control": "no-store", "Content-Security-Policy": "default-src 'none'", "X-Content-Type-Options": "nosniff"}
    return web.Response(body=image, content_type=content_type, headers=headers)


def _contacts_query():
    staff = aliased(Membership)
    return (
        select(ExternalContact, User.name, staff.display_name)
        .join(User, User.id == ExternalContact.user_id)
        .outerjoin(staff, (staff.user_id == ExternalContact.owner_id) & (staff.org_id == ExternalContact.org_id))
    )


async def _contact_page(request: web.Request, org: OrgContext, query: ContactsQuery, owner_id: int | None) -> ContactPage:
    """Contacts by id, a page at a time (keyset on id, from the ``(org_id, owner_id)`` index for one staff member)."""
    statement = _contacts_query()
    if owner_id is not None:
        statement = statement.where(ExternalContact.owner_id == owner_id)
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        page = await keyset_page(tx, statement, ExternalContact.id, after=query.after_id, limit=query.limit)
    contacts = [
        ContactOut(id=c.id, user_id=c.user_id, name=name, owner_id=c.owner_id, owner_name=owner_name,
                   chat_group_id=c.chat_group_id, created_at=c.created_at, handed_over_at=c.handed_over_at)
        for c, name, owner_name in page.rows
    ]
    return ContactPage(contacts=contacts, next_after_id=page.next_after)


@routes.get(ORG + "/contacts")
@endpoint(query=ContactsQuery, response=ContactPage)
async def my_contacts(request: web.Request, query: ContactsQuery, org: OrgContext) -> ContactPage:
    """The caller's external contacts, with their one-to-one chats."""
    return await _contact_page(request, org, query, org.user_id)


@routes.delete(ORG + "/contacts/{contact_id}")
@endpoint(status=204)
async def remove_contact(request: web.Request, org: OrgContext) -> None:
    """End a contact (the staff member in charge or an organisation admin)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await do_remove_contact(tx, org, path_int(request, "contact_id"))


@routes.post(ORG + "/external-groups")
@endpoint(body=ExternalGroupIn, response=GroupDetailOut, status=201)
async def create_external_group(request: web.Request, body: ExternalGroupIn, org: OrgContext) -> GroupDetailOut:
    """A group of staff and external contacts (the caller owns it), capped at the organisation's external group size."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        group = await do_create_external_group(
            tx, org, request.app[SETTINGS], name=body.name, member_ids=body.member_ids, contact_ids=body.contact_ids
        )
        access = await load_group(tx, org, group.id)
        return group_detail(access, await member_count(tx, group.id))


@routes.post(ORG + "/external-groups/{group_id}/contacts")
@endpoint(body=ContactIdsIn, response=MembersChangedOut)
async def add_contacts(request: web.Request, body: ContactIdsIn, org: OrgContext) -> MembersChangedOut:
    """Add external contacts to an external group (its admins); staff join with POST .../groups/{id}/members."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        access = await load_group(tx, org, path_int(request, "group_id"))
        added = await do_add_contacts(tx, access, body.user_ids)
        return MembersChangedOut(added=added, member_count=await member_count(tx, access.group.id))


# --- admins --------------------------------------------------------------------------


@routes.get(ORG + "/external-contacts")
@endpoint(query=ContactsQuery, response=ContactPage, role="admin")
async def all_contacts(request: web.Request, query: ContactsQuery, org: OrgContext) -> ContactPage:
    """Every external contact of the organisation with the staff member in charge (or only one staff member's)."""
    return await _contact_page(request, org, query, query.owner_id)


@routes.get(ORG + "/external-contacts/policy")
@endpoint(response=PolicyOut, role="admin")
async def get_policy(request: web.Request, org: OrgContext) -> PolicyOut:
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        return PolicyOut.model_validate(await load_policy(tx, request.app[SETTINGS]))


@routes.put(ORG + "/external-contacts/policy")
@endpoint(body=PolicyIn, response=PolicyOut, role="admin")
async def set_policy(request: web.Request, body: PolicyIn, org: OrgContext) -> PolicyOut:
    """The caps: external contacts per organisation, members per new external group (within the server's ceilings)."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        policy = await do_set_policy(tx, request.app[SETTINGS], contact_limit=body.contact_limit, group_member_limit=body.group_member_limit)
        await do_audit(tx, org.principal, "external_contacts.policy_changed", details=body.model_dump(exclude_none=True))
        return PolicyOut.model_validate(policy)


@routes.post(ORG + "/members/{member_id}/handover")
@endpoint(body=HandoverIn, response=HandoverOut, role="admin")
async def hand_over(request: web.Request, body: HandoverIn, org: OrgContext) -> HandoverOut:
    """Hand a member's external contacts (all, or some) and their chats to a colleague; the history stays."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        contacts, groups = await do_hand_over_member(tx, org, path_int(request, "member_id"), body.to_member_id, body.contact_ids)
    return HandoverOut(contacts=contacts, groups=groups)


# --- the outside person --------------------------------------------------------------


@routes.post("/api/v1/contact-links/preview")
@endpoint(body=TokenIn, response=LinkPreviewOut, auth="none")
async def preview_link(request: web.Request, body: TokenIn) -> LinkPreviewOut:
    """Who a link is from, for the landing page, before signing in."""
    seen = await preview(request.app[DB], body.token)
    return LinkPreviewOut(org_name=seen.org_name, staff_name=seen.staff_name, expires_at=seen.link.expires_at)


@routes.post("/api/v1/contact-links/accept")
@endpoint(body=TokenIn, response=ContactJoinedOut)
async def accept_link(request: web.Request, body: TokenIn) -> ContactJoinedOut:
    """The signed-in caller becomes the link creator's external contact (again: the same contact, nothing spent)."""
    contact = await do_accept_link(request.app[DB], request.app[SETTINGS], body.token, request[PRINCIPAL].user_id)
    return ContactJoinedOut(org_id=contact.org_id, contact_id=contact.id, chat_group_id=contact.chat_group_id,
                            landing_url=chat_page(contact.org_id, contact.chat_group_id))


@routes.post("/api/v1/contact-links/sign-up")
@endpoint(body=SignUpIn, response=SignedUpOut, status=201, auth="none")
async def sign_up(request: web.Request, body: SignUpIn) -> SignedUpOut:
    """A light account (name, email, password) made by a usable link, and the contact, at once; signs in."""
    token, device, user, contact = await do_sign_up_by_link(
        request.app[DB], request.app[SETTINGS], body.token, name=body.name, email=body.email, password=body.password,
        user_agent=request.headers.get("User-Agent", ""), ip=client_ip(request),
    )
    return SignedUpOut(token=token, session_id=device.id, user_id=user.id, org_id=contact.org_id, contact_id=contact.id,
                       chat_group_id=contact.chat_group_id, landing_url=chat_page(contact.org_id, contact.chat_group_id))


@routes.get("/api/v1/me/external-chats")
@endpoint(response=list[MyExternalChatOut])
async def my_external_chats(request: web.Request) -> list[MyExternalChatOut]:
    """The organisations where the caller is an external contact, with their one-to-one chats."""
    staff = aliased(Membership)
    async with request.app[DB].transaction() as tx:
        rows = await tx.session.execute(
            select(ExternalContact, Organisation.name, staff.display_name)
            .join(Organisation, Organisation.id == ExternalContact.org_id)
            .outerjoin(staff, (staff.user_id == ExternalContact.owner_id) & (staff.org_id == ExternalContact.org_id))
            .where(ExternalContact.user_id == request[PRINCIPAL].user_id)
            .order_by(ExternalContact.id)
        )
        return [
            MyExternalChatOut(org_id=c.org_id, org_name=org_name, contact_id=c.id, chat_group_id=c.chat_group_id, staff_name=staff_name)
            for c, org_name, staff_name in rows
        ]


async def contacts_page(request: web.Request) -> web.FileResponse:
    """Staff: their contacts, links and QR codes; admins: all; an external contact: their chats."""
    return web.FileResponse(HERE / "contacts.html")


async def landing_page(request: web.Request) -> web.FileResponse:
    """Where a contact link opens: the token stays in the page (the log masks it), the API checks it."""
    return web.FileResponse(HERE / "landing.html")


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
    app.router.add_get("/contacts", contacts_page, name=WEB_ROUTE_PREFIX + "contacts")
    app.router.add_get("/c/{link_token}", landing_page, name=WEB_ROUTE_PREFIX + "contact-link")
    app.router.add_static("/contacts/static/", HERE / "static", name=WEB_ROUTE_PREFIX + "contacts-static", append_version=False)
    register_personal_data(app, personal_data.PART)
    # For staff, and for someone who is only an external contact (no organisation): where their chats are listed.
    register_place(app, Place("contacts", "/contacts", _("Contacts"), 70))

