"""Signing in with a phone number and a code sent by SMS, in organisations that offer it (``organisations.phone_sign_in``).

``ask_for_code`` finds the organisation and who has the number there
(server/accounts/phone_people.py), then asks for a code
(server/accounts/phone_codes.py). ``do_phone_sign_in`` checks the code
against the number's newest live code under the sign-in rate limit
(server/accounts/ratelimit.py, keyed ``phone:<E.164>`` and by address; a
wrong guess also counts against the code), then goes on like a password
sign-in: the second factor if the account has one, a device session, the
notice of a new device (server/accounts/login.py). The code is spent with the
second factor, so an account with TOTP answers ``totp_required`` and the
same code works with the authenticator's. Someone a capability knows who has
no account yet gets one now.
"""
from __future__ import annotations

from sqlalchemy import select

from server.accounts.login import SignedIn, SignInClient, do_finish_sign_in
from server.accounts.models import PhoneCode, User
from server.accounts.phone_codes import (
    code_matches,
    do_ask_for_code,
    do_count_wrong_guess,
    do_spend_code,
    live_code,
    send_code,
)
from server.accounts.phone_people import do_account_for, who_has
from server.accounts.ratelimit import Attempt, check_attempt_allowed, client_network, refuse
from server.channels.registry import Channels
from server.config import Settings
from server.db import Database, Transaction
from server.errors import Conflict, NotFound, Unauthenticated
from server.i18n import _
from server.orgs.models import Organisation
from server.orgs.phones import normalise_phone

BAD_CODE = _("this code is wrong, has expired or was already used: check it, or ask for a new one")
NO_SMS = _("this server sends no SMS, so sign-in by phone cannot work yet: ask its operator to set up an SMS provider")
UNAVAILABLE = _("this organisation does not offer sign-in by phone: check its address, or sign in with email and password")


async def org_offering_phone_sign_in(tx: Transaction, *, slug: str | None = None, org_id: int | None = None) -> Organisation:
    """The organisation by slug or id, if it offers phone sign-in; one that does not reads as one that does not exist."""
    where = Organisation.slug == slug if slug is not None else Organisation.id == org_id
    org = await tx.session.scalar(select(Organisation).where(where))
    if org is None or not org.phone_sign_in:
        raise NotFound(UNAVAILABLE, field="org_slug" if slug is not None else "org_id", code="phone_sign_in_unavailable")
    return org


async def ask_for_code(
    db: Database, settings: Settings, channels: Channels, *, phone: str, slug: str | None, org_id: int | None, ip: str, locale: str
) -> None:
    """Send a code to ``phone`` if someone of the organisation has it; the same answer either way (see phone_codes.py)."""
    phone = normalise_phone(phone, settings.default_phone_region)
    async with db.transaction() as tx:
        org = await org_offering_phone_sign_in(tx, slug=slug, org_id=org_id)
    if channels.provider is None:
        raise Conflict(NO_SMS, code="sms_unavailable")
    async with db.transaction(org_id=org.id) as tx:
        holder = await who_has(tx, phone)
    async with db.transaction() as tx:
        code = await do_ask_for_code(
            tx, settings, channels.settings, org, phone=phone, address=client_network(ip), holder=holder, locale=locale
        )
    if code is not None:
        send_code(channels, code)


async def check_phone_code(db: Database, settings: Settings, *, phone: str, code: str, ip: str) -> tuple[Attempt, PhoneCode]:
    """The live code ``code`` matches for ``phone`` (E.164), under the sign-in rate limit; a wrong guess counts against
    the code and the attempt (401 ``bad_code``). The caller spends it (``do_spend_code``) in the transaction it lets in."""
    attempt = Attempt(account=f"phone:{phone}", ip=ip)
    async with db.transaction() as tx:
        await check_attempt_allowed(tx, settings, attempt)
        row = await live_code(tx, settings, phone)
    if row is None or not code_matches(settings, row, code):
        if row is not None:
            async with db.transaction() as tx:
                await do_count_wrong_guess(tx, row.id)
        await refuse(db, settings, attempt, Unauthenticated(BAD_CODE, field="code", code="bad_code"))
    return attempt, row


async def do_phone_sign_in(db: Database, settings: Settings, *, phone: str, code: str, client: SignInClient) -> SignedIn:
    phone = normalise_phone(phone, settings.default_phone_region)
    attempt, row = await check_phone_code(db, settings, phone=phone, code=code, ip=client.ip)

    async def account(tx: Transaction) -> User:
        await org_offering_phone_sign_in(tx, org_id=row.org_id)
        holder = await who_has(tx, phone)
        if holder is None or not await do_spend_code(tx, settings, row.id):  # gone from the organisation since; or used meanwhile
            raise Unauthenticated(BAD_CODE, field="code", code="bad_code")
        return await do_account_for(tx, holder)

    return await do_finish_sign_in(db, settings, attempt, client, account, org_id=row.org_id)
