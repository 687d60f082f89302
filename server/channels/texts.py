"""Every text the channels send a person (Web Push titles and bodies, SMS digests, sign-in codes), as English msgids with
``{placeholders}``, rendered in the person's language with ``server.i18n.translate``."""
from __future__ import annotations

from server.i18n import _

MENTIONED_YOU = _("{name} mentioned you in {group}")
MENTIONED_EVERYONE = _("{name} mentioned everyone in {group}")
ONE_NEW_MESSAGE = _("1 new message")
NEW_MESSAGES = _("{count} new messages")
NEW_MESSAGES_IN_GROUPS = _("{count} new messages in {groups} groups")
SOMEONE = _("Someone")
APP_NAME = _("Muster")
SMS_DIGEST = _("Muster: you were mentioned {count} times. Open Muster to read them.")
SIGN_IN_CODE = _("{code} is your Muster sign-in code for {org}. It works for {minutes} minutes. Never share it: nobody from {org} will ask you for it.")
QUIET_ONE_MESSAGE = _("1 new message while your notifications were quiet")
QUIET_MESSAGES = _("{count} new messages while your notifications were quiet")
QUIET_MESSAGES_IN_GROUPS = _("{count} new messages in {groups} groups while your notifications were quiet")
QUIET_MENTIONS = _("Mentions of you: {mentions}")
