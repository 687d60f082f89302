"""Who has a phone number in an organisation: the people a sign-in code sent by SMS can let in.

A number is a member's (``memberships.phone``), or someone's that a capability
knows who may have no account yet (a guardian that schools imported). A
capability registers ``register_phone_sign_in(lookup)`` once, at import or in
its ``setup``; ``lookup(tx, phone)`` runs in a transaction of the organisation
(``tx.org_id``) with the number in E.164 and answers a ``PhonePerson`` or None.
Members come first; then the lookups, in the order they were registered.

At the first sign-in of a ``PhonePerson`` without an account, the platform
makes one (their name and language from the lookup; no email, no password)
and calls ``person.attach(tx, user)`` in the same transaction: the capability
gives the account what the person has there (a membership, their children's
classes...). It must also make the person found by that account next time (a
membership with the number, or a lookup answering ``user_id``), or each sign-in
would make another account.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select

from server.accounts.models import User
from server.audit.record import Someone, do_audit
from server.db import Transaction
from server.errors import Conflict
from server.orgs.models import Membership


@dataclass(frozen=True)
class PhonePerson:
    """Someone a capability knows by their phone number in one organisation."""

    name: str
    user_id: int | None = None  # their account, once they have one
    locale: str | None = None  # "zh-CN" | "en": the language of their code's SMS, and of their new account
    attach: Callable[[Transaction, User], Awaitable[None]] | None = None  # gives a new account what the person has


PhoneLookup = Callable[[Transaction, str], Awaitable[PhonePerson | None]]
_lookups: list[PhoneLookup] = []


def register_phone_sign_in(lookup: PhoneLookup) -> None:
    """Let the people ``lookup`` knows sign in with their phone number, in organisations that offer phone sign-in."""
    if lookup not in _lookups:
        _lookups.append(lookup)


@dataclass(frozen=True)
class PhoneHolder:
    """Whoever has the number in the organisation: member accounts, or else a capability's person."""

    members: list[User]
    person: PhonePerson | None

    @property
    def locale(self) -> str | None:
        return self.members[0].locale if len(self.members) == 1 else self.person.locale if self.person else None


async def who_has(tx: Transaction, phone: str) -> PhoneHolder | None:
    """In a transaction of the organisation: who has ``phone`` (E.164) there, or None if nobody."""
    members = list(
        await tx.session.scalars(
            select(User).join(Membership, Membership.user_id == User.id).where(Membership.phone == phone, User.kind == "person").distinct()
        )
    )
    if members:
        return PhoneHolder(members, None)
    for lookup in _lookups:
        person = await lookup(tx, phone)
        if person is not None:
            return PhoneHolder([], person)
    return None


async def do_account_for(tx: Transaction, holder: PhoneHolder) -> User:
    """The account that signs in for the number's holder, made (and attached) at their first sign-in."""
    if len(holder.members) > 1:
        raise Conflict(
            "several people of this organisation have this phone number: ask an administrator to correct it, or sign in with email and password",
            field="phone", code="phone_shared",
        )
    if holder.members:
        return holder.members[0]
    person = holder.person
    known = await tx.session.get(User, person.user_id) if person.user_id is not None else None
    if known is not None and known.kind == "person":
        return known
    user = User(kind="person", name=person.name[:200], email=None, password_hash=None, locale=person.locale)
    tx.session.add(user)
    await tx.session.flush()
    if person.attach is not None:
        await person.attach(tx, user)
    await do_audit(tx, Someone(user.id, user.name), "account.created_by_phone_sign_in", target=("user", user.id))
    return user
