"""What the channels hold about a member of an organisation: their notification settings and browsers, a pending SMS
digest, a pending summary of what arrived in their quiet hours.

Settings and Web Push subscriptions belong to the account, not to one
organisation: they are exported with any organisation's request and kept on
erasure (the account goes on using them elsewhere); the organisation's
pending SMS digest and quiet-hours summary of the person are erased.
"""
from __future__ import annotations

from sqlalchemy import delete, select
from yarl import URL

from server.channels.models import NotificationSettings, PushSubscription, QuietSummary, SmsDigest
from server.config import Settings
from server.db import Transaction
from server.personal_data.parts import PersonalDataPart, iso


async def export_channels(tx: Transaction, user_id: int) -> dict:
    settings = await tx.session.scalar(select(NotificationSettings).where(NotificationSettings.user_id == user_id))
    browsers = await tx.session.execute(select(PushSubscription.endpoint, PushSubscription.created_at).where(PushSubscription.user_id == user_id))
    digest = await tx.session.scalar(select(SmsDigest.mentions).where(SmsDigest.user_id == user_id))
    summary = await tx.session.scalar(select(QuietSummary).where(QuietSummary.user_id == user_id))
    return {
        "notification_settings": None if settings is None else {
            "quiet_start_min": settings.quiet_start_min, "quiet_end_min": settings.quiet_end_min,
            "mentions_when_muted": settings.mentions_when_muted},
        # The push service only: the whole endpoint is a capability to reach the browser, not for an admin's export.
        "push_subscriptions": [{"push_service": URL(endpoint).host, "created_at": iso(at)} for endpoint, at in browsers],
        "sms_digest_mentions": digest,
        "quiet_hours_summary": None if summary is None else {"since": iso(summary.since), "due_at": iso(summary.due_at)},
    }


async def erase_channels(tx: Transaction, _settings: Settings, user_id: int) -> dict[str, int]:
    digests = await tx.session.execute(delete(SmsDigest).where(SmsDigest.user_id == user_id).execution_options(synchronize_session=False))
    summaries = await tx.session.execute(delete(QuietSummary).where(QuietSummary.user_id == user_id).execution_options(synchronize_session=False))
    return {"sms_digests": digests.rowcount, "quiet_summaries": summaries.rowcount}


PART = PersonalDataPart("channels", export_channels, erase_channels)
