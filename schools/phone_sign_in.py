"""Guardians sign in with their phone number and a code sent by SMS (server/accounts/phone_sign_in.py).

An organisation offers it once it becomes a bureau (its bureau unit is made, by
the API or an import: ``do_offer_phone_sign_in``); its admins may turn it off.

The platform asks who has a number in the organisation: its members first (a
teacher imported with a phone is one), then this lookup: the guardian with that
phone (their match key, an index lookup) who has a child on the roll. A guardian
whose last child was archived is nobody here, so their number gets the same
answer as a number nobody has, and no code (server/accounts/phone_codes.py).

Guardians with a phone get an account at import; one who has none (their
account was deleted, or their data erased) gets one at this sign-in, attached to
their guardian row so the next sign-in finds it, and joins their children's
class groups.
"""
from __future__ import annotations

from sqlalchemy import select

from server.accounts.models import User
from server.accounts.phone_people import PhonePerson, register_phone_sign_in
from server.audit.record import Actor
from server.db import Transaction
from server.orgs.actions import do_update_org
from schools.class_groups import do_follow_rosters
from schools.models import Guardian, Student, StudentGuardian


async def guardian_with_phone(tx: Transaction, phone: str) -> PhonePerson | None:
    found = (await tx.session.execute(
        select(Guardian.id, Guardian.name, Guardian.user_id, User.locale)
        .join(StudentGuardian, StudentGuardian.guardian_id == Guardian.id)
        .join(Student, Student.id == StudentGuardian.student_id)
        .outerjoin(User, User.id == Guardian.user_id)
        .where(Guardian.match_key == phone, Guardian.phone == phone, Student.archived_at.is_(None))
        .limit(1)
    )).first()
    if found is None:
        return None
    guardian_id = found.id

    async def attach(tx: Transaction, user: User) -> None:
        guardian = await tx.session.get(Guardian, guardian_id)
        guardian.user_id = user.id
        await tx.session.flush()
        classes = await tx.session.scalars(
            select(Student.class_id).join(StudentGuardian, StudentGuardian.student_id == Student.id)
            .where(StudentGuardian.guardian_id == guardian_id, Student.archived_at.is_(None), Student.class_id.is_not(None)).distinct()
        )
        await do_follow_rosters(tx, list(classes), strict=False)

    return PhonePerson(name=found.name, user_id=found.user_id, locale=found.locale, attach=attach)


async def do_offer_phone_sign_in(tx: Transaction, actor: Actor | None) -> None:
    """The organisation just became a bureau: its guardians and teachers sign in by phone from now on."""
    await do_update_org(tx, actor, tx.org_id, phone_sign_in=True)


register_phone_sign_in(guardian_with_phone)
