"""A patient comes in by a clinic's link: a code sent by SMS to their phone, then a guest session for their one consultation.

The code is the platform's (server/accounts/phone_codes.py): the same limits
per number, address and organisation, the same SMS allowances counted
against the hospital, the same wrong-guess limits (``check_phone_code``).
Unlike a sign-in code it is sent to any number: a patient needs no account.
The session it opens is a guest's (server/accounts/guests.py) scoped to
``("consultation", id)``: every route of the platform and of other
capabilities refuses it, and the consultation routes answer 404 for any other
consultation. It lasts ``MUSTER_GUEST_SESSION_HOURS`` and ends when the
consultation does.
"""
from __future__ import annotations

from rooms.config import RoomsSettings
from rooms.consultations.queue import GUEST_SCOPE_KIND, do_join_queue
from rooms.models import Clinic, Consultation
from server.accounts import guests
from server.accounts.auth import GuestScope
from server.accounts.devices import do_revoke_matching_sessions
from server.accounts.models import DeviceSession
from server.accounts.phone_codes import do_ask_for_code, do_spend_code, send_code
from server.accounts.phone_people import PhoneHolder, PhonePerson
from server.accounts.phone_sign_in import BAD_CODE, NO_SMS, check_phone_code
from server.accounts.ratelimit import client_network, refuse
from server.channels.registry import Channels
from server.config import Settings
from server.db import Database, Transaction
from server.errors import Conflict, Forbidden, Unauthenticated
from server.orgs.models import Organisation

ANYONE = PhoneHolder([], PhonePerson(name=""))  # a patient: whoever has the number, with or without an account


async def ask_for_patient_code(db: Database, settings: Settings, channels: Channels, clinic: Clinic, *, phone: str, ip: str, locale: str) -> None:
    """Send a code to ``phone`` (E.164) for the clinic's queue, within the platform's limits and the hospital's SMS allowances."""
    if channels.provider is None:
        raise Conflict(NO_SMS, code="sms_unavailable")
    async with db.transaction() as tx:
        org = await tx.session.get(Organisation, clinic.org_id)
        code = await do_ask_for_code(tx, settings, channels.settings, org, phone=phone, address=client_network(ip), holder=ANYONE, locale=locale)
    send_code(channels, code)


async def do_queue_patient(
    db: Database, settings: Settings, rooms: RoomsSettings, clinic: Clinic, *, phone: str, code: str, name: str, user_agent: str, ip: str,
) -> tuple[str, Consultation]:
    """Check the code, spend it, and queue the patient with a guest session for that place; returns the session's token."""
    attempt, row = await check_phone_code(db, settings, phone=phone, code=code, ip=ip)
    if row.org_id != clinic.org_id:  # a code sent for another organisation lets nobody in here
        await refuse(db, settings, attempt, Unauthenticated(BAD_CODE, field="code", code="bad_code"))
    async with db.transaction(org_id=clinic.org_id) as tx:
        if not await do_spend_code(tx, settings, row.id):
            raise Unauthenticated(BAD_CODE, field="code", code="bad_code")
        consultation = await do_join_queue(tx, rooms, clinic, patient_id=None, name=name, phone=phone)
        token, _, user = await guests.do_open_guest_session(
            tx, settings, scope=GuestScope(clinic.org_id, GUEST_SCOPE_KIND, consultation.id), display_name=name, user_agent=user_agent, ip=ip,
        )
        consultation.patient_id = user.id
        await tx.session.flush()
    return token, consultation


async def do_sign_out_patient(tx: Transaction, consultation_id: int) -> None:
    """The consultation is over: its patient's sessions end, and their sockets close on every node."""
    await do_revoke_matching_sessions(tx, (DeviceSession.guest_org_id == tx.org_id) & (DeviceSession.guest_scope_kind == GUEST_SCOPE_KIND)
                                      & (DeviceSession.guest_scope_id == consultation_id))


async def _no_invites(tx: Transaction, org, consultation_id: int) -> None:
    raise Forbidden("patients come in by their clinic's link, not by a guest invite")


guests.register_guest_scope(GUEST_SCOPE_KIND, _no_invites)
