"""What an SMS and a call say, in the recipient's language: their ``users.locale``, else the server's ``MUSTER_DEFAULT_LOCALE``.

The texts are msgids of notify's catalogue (notify/locales), filled in with the broadcast's own title and body.
"""
from __future__ import annotations

from sqlalchemy import ColumnElement, select

from notify.models import BroadcastRecipient
from server.accounts.models import User
from server.i18n import _

SMS = _("URGENT: {title}\n{body}\nOpen Muster and confirm you have read this.")
CALL = _("This is an urgent notice. {title}. {body}. Press 1 to confirm you have read this.")
CALL_CONFIRMED = _("Thank you. Your confirmation is recorded.")
CALL_NOT_CONFIRMED = _("Nothing was confirmed. You will be called again.")

SPEECH_LANGUAGE = {"zh-CN": "zh-CN", "en": "en-US"}  # the text-to-speech voice of each locale


def locale_of_recipient(recipient_id: ColumnElement[int] | int) -> ColumnElement[str | None]:
    """The chosen locale of the person behind a broadcast recipient (NULL: they did not choose one)."""
    return (
        select(User.locale)
        .join(BroadcastRecipient, BroadcastRecipient.user_id == User.id)
        .where(BroadcastRecipient.id == recipient_id)
        .scalar_subquery()
    )
