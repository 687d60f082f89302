"""An organisation's caps on external contacts, and the count that enforces the first one.

Adding a contact bumps ``contact_policies.contact_count`` with one conditional
``UPDATE ... WHERE contact_count < contact_limit``: the row lock makes two
simultaneous additions take turns, so the cap holds without counting 50,000
rows each time.
"""
from __future__ import annotations

from sqlalchemy import select, update

from server.config import Settings
from server.contacts.models import ContactPolicy
from server.db import Transaction
from server.db.upsert import insert_for
from server.errors import Conflict, InvalidInput


async def load_policy(tx: Transaction, settings: Settings) -> ContactPolicy:
    """The organisation's policy, made with the server's defaults on first use."""
    await tx.session.execute(
        insert_for(tx.dialect, ContactPolicy)
        .values(
            org_id=tx.org_id,
            contact_limit=settings.external_contact_limit,
            group_member_limit=min(settings.external_group_member_limit, settings.group_member_limit),
            contact_count=0,
        )
        .on_conflict_do_nothing()
    )
    return await tx.session.scalar(
        select(ContactPolicy).where(ContactPolicy.org_id == tx.org_id).execution_options(populate_existing=True)
    )


async def do_count_new_contact(tx: Transaction, settings: Settings) -> None:
    """Take one place under the cap, or refuse with 409 ``too_many_contacts``."""
    policy = await load_policy(tx, settings)
    taken = await tx.session.execute(
        update(ContactPolicy)
        .where(ContactPolicy.org_id == tx.org_id, ContactPolicy.contact_count < ContactPolicy.contact_limit)
        .values(contact_count=ContactPolicy.contact_count + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise Conflict(
            "this organisation has reached its limit of {limit} external contacts; an admin can remove contacts or raise the limit",
            code="too_many_contacts",
            limit=policy.contact_limit,
        )


async def do_uncount_contacts(tx: Transaction, count: int) -> None:
    await tx.session.execute(
        update(ContactPolicy)
        .where(ContactPolicy.org_id == tx.org_id)
        .values(contact_count=ContactPolicy.contact_count - count)
        .execution_options(synchronize_session=False)
    )


def check_policy(settings: Settings, *, contact_limit: int | None, group_member_limit: int | None) -> None:
    if contact_limit is not None and contact_limit > settings.external_contact_limit:
        raise InvalidInput(
            "this server allows at most {limit} external contacts per organisation", field="contact_limit", limit=settings.external_contact_limit
        )
    if group_member_limit is not None and group_member_limit > settings.group_member_limit:
        raise InvalidInput("this server allows groups of at most {limit} members", field="group_member_limit", limit=settings.group_member_limit)


async def do_set_policy(
    tx: Transaction, settings: Settings, *, contact_limit: int | None, group_member_limit: int | None
) -> ContactPolicy:
    """Change the caps (organisation admins). A lower contact cap than the count only stops new contacts.

    The group cap applies to external groups made from now on; existing groups keep theirs."""
    check_policy(settings, contact_limit=contact_limit, group_member_limit=group_member_limit)
    policy = await load_policy(tx, settings)
    if contact_limit is not None:
        policy.contact_limit = contact_limit
    if group_member_limit is not None:
        policy.group_member_limit = group_member_limit
    await tx.session.flush()
    return policy
