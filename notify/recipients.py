"""Who a broadcast goes to: an audience (server/audiences/) expanded once, at send time, into plain rows
(``Recipient``) that the broadcast keeps, with phones made usable for SMS and calls.

Ids that name nothing in this organisation are reported back by the
audience rather than failing the send: in an emergency the people who *can*
be reached must be, and the sender must learn who could not.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from server.audiences.expand import Audience, ResolvedAudience, resolve_audience
from server.db import Transaction
from server.errors import InvalidInput
from server.orgs.phones import normalise_phone

E164 = re.compile(r"\+[1-9][0-9]{6,14}")


@dataclass(frozen=True)
class Recipient:
    user_id: int
    name: str
    phone: str | None  # E.164, or None if the member has no usable number


async def expand_recipients(tx: Transaction, audience: Audience, *, phone_region: str) -> tuple[list[Recipient], ResolvedAudience]:
    """The distinct members addressed, by user id, and the resolved audience (its ``unknown`` ids). ``tx`` is scoped to the organisation."""
    resolved = await resolve_audience(tx, audience)
    recipients = [
        Recipient(member.user_id, member.name, _usable_phone(member.phone, phone_region))
        async for chunk in resolved.chunks(tx) for member in chunk
    ]
    return recipients, resolved


def _usable_phone(phone: str | None, region: str) -> str | None:
    """Numbers are stored in E.164 already (checked cheaply); anything else is re-read with phonenumbers,
    so a legacy value is normalised or, if unusable, kept from the provider. Parsing every number costs
    ~0.4 ms, which at 10,000 recipients would be seconds on the send path."""
    if not phone:
        return None
    if E164.fullmatch(phone):
        return phone
    try:
        return normalise_phone(phone, region)
    except InvalidInput:
        return None
