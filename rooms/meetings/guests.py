"""Guests may be invited to a meeting by its host, a co-host or an organisation admin; the invite leads to its page."""
from __future__ import annotations

from rooms.meetings.meetings import GUEST_SCOPE_KIND, check_may_manage, get_meeting, join_url
from server.accounts import guests
from server.db import Transaction
from server.orgs.access import OrgContext


async def check_guest_invite(tx: Transaction, org: OrgContext, meeting_id: int) -> None:
    await check_may_manage(tx, await get_meeting(tx, meeting_id), org.user_id, org.is_admin)


async def guest_landing(tx: Transaction, meeting_id: int) -> str:
    """The meeting's page (its join link), where the guest's session joins them as a guest."""
    return join_url("", await get_meeting(tx, meeting_id))


guests.register_guest_scope(GUEST_SCOPE_KIND, check_guest_invite, landing=guest_landing)
