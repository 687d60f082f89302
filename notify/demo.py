"""The demo's notice: an urgent broadcast to the emergency department that some have read, some
confirmed, and that waits for the demo nurse's confirmation on her home page.

No SMS or call: its policy turns both off, so the demo never spends anything.
Idempotent: a broadcast with the demo's title is not sent again.
"""
from __future__ import annotations

from sqlalchemy import select

from notify.broadcasts import do_advance, do_send_broadcast
from notify.config import NotifySettings
from notify.models import Broadcast
from notify.recipients import expand_recipients
from server.accounts.auth import Principal
from server.audiences.expand import Audience
from server.config import Settings
from server.db import Database
from server.orgs.access import OrgContext
from server.orgs.models import Department, Membership

TITLE = "Fire drill today at 15:00"
BODY = "Please confirm you have read this. Assemble at point B in the car park when the alarm sounds; the drill takes 20 minutes."
SENDER = "admin@riverside.example"
WAITING = "nurse@riverside.example"  # her confirmation is what the demo's home page asks for
NO_PAID_MESSAGES = {"sms_after_s": None, "call_after_s": None, "repeats": 0, "repeat_interval_s": 300}


async def seed_demo(db: Database, demo, settings: Settings) -> None:
    async with db.transaction(org_id=demo.org_id) as tx:
        if await tx.session.scalar(select(Broadcast.id).where(Broadcast.title == TITLE)) is not None:
            return
        sender = await tx.session.scalar(select(Membership).where(Membership.email == SENDER))
        emergency = await tx.session.scalar(select(Department.id).where(Department.name == "Emergency"))
        recipients, _ = await expand_recipients(tx, Audience({"departments": [emergency]}), phone_region=settings.default_phone_region)
        org = OrgContext(demo.org_id, Principal(sender.user_id, 0, sender.display_name), sender.id, sender.role)
        broadcast = await do_send_broadcast(
            tx, org, NotifySettings(), title=TITLE, body=BODY, attachments=[], policy=NO_PAID_MESSAGES, priority=9, recipients=recipients
        )
        waiting = await tx.session.scalar(select(Membership.user_id).where(Membership.email == WAITING))
        others = [r.user_id for r in recipients if r.user_id != waiting]
        await do_advance(tx, broadcast.id, others, "read")
        await do_advance(tx, broadcast.id, others[: len(others) // 2], "confirmed")
