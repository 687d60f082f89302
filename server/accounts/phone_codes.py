"""One-time sign-in codes sent by SMS: asking for one, and checking one.

Asking (``do_ask_for_code``) answers the same whether or not anyone in the
organisation has the number, so it cannot be used to find out who is there:
either way it is limited alike, leaves a ``PhoneCode`` row, and passes the
organisation's paid SMS allowances (server/channels/paid.py; a number nobody
has charges only the asking address, and is refused as a real send would
be). Only for a number someone has is a code made and sent, in the background
(``Channels.send_soon``), so the answer's time does not tell either.

The limits, in ``MUSTER_PHONE_CODE*`` settings, count rows of ``phone_codes``
within ``phone_code_window_s``: per number (the SMS bombing of one person),
per client address and per organisation (pumping SMS to many numbers), and
one code per number per ``phone_code_resend_s``. On top, the daily SMS
allowances of the organisation, the number and the address hold.

A code is 6 digits, lives ``phone_code_ttl_s``, is spent by the sign-in it
lets in, dies after ``phone_code_max_attempts`` wrong guesses, and is replaced
by the next code asked for the same number in the same organisation. It is
stored only as an HMAC keyed by the server's secret key.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select, update

from server.accounts.models import PhoneCode
from server.accounts.phone_people import PhoneHolder
from server.accounts.ratelimit import seconds_until_below
from server.channels import texts
from server.channels.config import ChannelSettings
from server.channels.paid import do_reserve_paid
from server.channels.registry import Channels, Message
from server.config import Settings
from server.db import Transaction, utcnow
from server.errors import RateLimited
from server.i18n import _, translate
from server.orgs.models import Organisation

CODE_DIGITS = 6

# Whose limit an ask for a code passed, for the refusal: read in the asker's language.
TOO_MANY_CODES = _("too many sign-in codes were asked for {whose}; try again in {seconds} seconds")


@dataclass(frozen=True)
class CodeToSend:
    code_id: int
    phone: str
    user_id: int | None
    text: str


def code_hash(settings: Settings, phone: str, code: str) -> str:
    return hmac.new(settings.secret_key.encode(), f"phone-code\n{phone}\n{code}".encode(), hashlib.sha256).hexdigest()


async def check_may_ask(tx: Transaction, settings: Settings, *, org_id: int, phone: str, address: str) -> None:
    """Raise ``RateLimited`` if another code for ``phone`` may not be asked now (an unscoped transaction: the
    number's and the address's limits count every organisation)."""
    now = utcnow()
    limits = (
        (PhoneCode.phone == phone, 1, settings.phone_code_resend_s, _("this number")),
        (PhoneCode.phone == phone, settings.phone_codes_per_number, settings.phone_code_window_s, _("this number")),
        (PhoneCode.address == address, settings.phone_codes_per_address, settings.phone_code_window_s, _("your address")),
        (PhoneCode.org_id == org_id, settings.phone_codes_per_org, settings.phone_code_window_s, _("this organisation")),
    )
    for which, limit, window_s, whose in limits:
        if window_s <= 0:
            continue
        retry_after_s = await seconds_until_below(tx, PhoneCode.created_at, which, limit, window_s, now)
        if retry_after_s is not None:
            raise RateLimited(TOO_MANY_CODES, retry_after_s=retry_after_s, whose=whose, seconds=retry_after_s)


async def do_ask_for_code(
    tx: Transaction, settings: Settings, channel_settings: ChannelSettings, org: Organisation, *, phone: str, address: str,
    holder: PhoneHolder | None, locale: str,
) -> CodeToSend | None:
    """In an unscoped transaction: count the ask, reserve its SMS and store its code; the code to send, or None
    (nobody in ``org`` has the number). Raises ``RateLimited`` (429) past a limit, alike for both."""
    await check_may_ask(tx, settings, org_id=org.id, phone=phone, address=address)
    await do_reserve_paid(tx, channel_settings, "sms", org_id=org.id, per_number={phone: 1}, address=address, spend=holder is not None)
    now = utcnow()
    kept_s = max(settings.phone_code_window_s, settings.phone_code_ttl_s, settings.phone_code_resend_s)
    await tx.session.execute(delete(PhoneCode).where(PhoneCode.created_at < now - dt.timedelta(seconds=kept_s)))
    await tx.session.execute(
        update(PhoneCode).where(PhoneCode.org_id == org.id, PhoneCode.phone == phone, PhoneCode.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)
    )
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    row = PhoneCode(
        org_id=org.id, phone=phone, address=address, code_hash=code_hash(settings, phone, code) if holder else None,
        created_at=now, expires_at=now + dt.timedelta(seconds=settings.phone_code_ttl_s), attempts=0,
    )
    tx.session.add(row)
    await tx.session.flush()
    if holder is None:
        return None
    user_id = holder.members[0].id if len(holder.members) == 1 else holder.person.user_id if holder.person else None
    text = translate(holder.locale or locale, texts.SIGN_IN_CODE, code=code, org=org.name, minutes=max(1, settings.phone_code_ttl_s // 60))
    return CodeToSend(row.id, phone, user_id, text)


def send_code(channels: Channels, code: CodeToSend) -> None:
    """Off to the SMS provider, in the background; the provider drops a repeat of the same code."""
    channels.send_soon("sms", Message(code.user_id or 0, "", code.text, to=code.phone, idempotency_key=f"muster-sign-in-code-{code.code_id}"))


async def live_code(tx: Transaction, settings: Settings, phone: str) -> PhoneCode | None:
    """The newest code sent to ``phone`` that may still be used, in any organisation."""
    return await tx.session.scalar(
        select(PhoneCode)
        .where(
            PhoneCode.phone == phone, PhoneCode.code_hash.is_not(None), PhoneCode.used_at.is_(None),
            PhoneCode.expires_at > utcnow(), PhoneCode.attempts < settings.phone_code_max_attempts,
        )
        .order_by(PhoneCode.id.desc())
        .limit(1)
    )


def code_matches(settings: Settings, row: PhoneCode, code: str) -> bool:
    code = "".join(code.split())
    return len(code) == CODE_DIGITS and code.isdigit() and hmac.compare_digest(row.code_hash, code_hash(settings, row.phone, code))


async def do_count_wrong_guess(tx: Transaction, code_id: int) -> None:
    await tx.session.execute(
        update(PhoneCode).where(PhoneCode.id == code_id).values(attempts=PhoneCode.attempts + 1).execution_options(synchronize_session=False)
    )


async def do_spend_code(tx: Transaction, settings: Settings, code_id: int) -> bool:
    """Use the code up, race-free: of two sign-ins with it, only one gets True."""
    spent = await tx.session.execute(
        update(PhoneCode)
        .where(
            PhoneCode.id == code_id, PhoneCode.used_at.is_(None), PhoneCode.expires_at > utcnow(),
            PhoneCode.attempts < settings.phone_code_max_attempts,
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return spent.rowcount == 1
