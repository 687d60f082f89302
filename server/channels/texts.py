"""Every text the channels send a person (Web Push titles and bodies, SMS), as English msgids with ``{placeholders}``.

Kept in one module so they move to the server's gettext catalogues
(``server/i18n``: ``_()`` marks, ``translate(locale, msgid, **params)``
renders) in one change; until then ``translate`` renders the English.
"""
from __future__ import annotations


def _(msgid: str) -> str:
    return msgid


def translate(locale: str, msgid: str, **params) -> str:
    return msgid.format(**params) if params else msgid


MENTIONED_YOU = _("{name} mentioned you in {group}")
MENTIONED_EVERYONE = _("{name} mentioned everyone in {group}")
ONE_NEW_MESSAGE = _("1 new message")
NEW_MESSAGES = _("{count} new messages")
NEW_MESSAGES_IN_GROUPS = _("{count} new messages in {groups} groups")
SOMEONE = _("Someone")
APP_NAME = _("Muster")
SMS_DIGEST = _("Muster: you were mentioned {count} times. Open Muster to read them.")
