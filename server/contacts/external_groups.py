"""External groups: groups of staff and external contacts, capped at the organisation's external group size.

They are ordinary groups (server/groups/) flagged ``external``: the same
messages, reads and files, the same member limit check (the 501st member of
a group of 500 is refused with 400 ``too_many_members``). Only they may hold
external contacts; the organisation's own groups never do, because
``POST /groups/{id}/members`` accepts only people of the organisation.
"""
from __future__ import annotations

from collections.abc import Sequence


from server.config import Settings
from server.contacts.models import ExternalContact
from server.contacts.policy import load_policy
from server.db import Transaction
from server.errors import InvalidInput
from server.i18n import _
from server.groups.access import GroupAccess
from server.groups.membership import check_all_found, do_add_checked_people, do_create_group
from server.groups.models import Group
from server.orgs.access import OrgContext


async def check_contacts_of_org(tx: Transaction, user_ids: Sequence[int], field: str) -> list[int]:
    """The distinct ids, all external contacts of this organisation."""
    return await check_all_found(tx, ExternalContact.user_id, user_ids, field, _("not external contacts of this organisation: {shown}"))


async def do_create_external_group(
    tx: Transaction, org: OrgContext, settings: Settings, *, name: str, member_ids: Sequence[int], contact_ids: Sequence[int]
) -> Group:
    """The caller owns it; staff (``member_ids``) and contacts (``contact_ids``, user ids) join, within the cap."""
    contacts = await check_contacts_of_org(tx, contact_ids, "contact_ids")
    policy = await load_policy(tx, settings)
    group = await do_create_group(
        tx, org, settings, name=name, department_id=None, member_ids=member_ids, allow_guests=False,
        external=True, member_limit=policy.group_member_limit,
    )
    await do_add_checked_people(tx, group, contacts)
    return group


async def do_add_contacts(tx: Transaction, access: GroupAccess, user_ids: Sequence[int]) -> list[int]:
    """Add external contacts to an external group (its admins). Returns who was added."""
    access.require_role("admin", "add members")
    if not access.group.external:
        raise InvalidInput("external contacts can join only external groups", field="user_ids")
    return await do_add_checked_people(tx, access.group, await check_contacts_of_org(tx, user_ids, "user_ids"))
