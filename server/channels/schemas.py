"""Request and response bodies of the channels' API: Web Push subscriptions, notification settings, paid allowances."""
from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import Field, field_validator

from server.api import Model, Out

CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class PushSubscriptionIn(Model):
    endpoint: str = Field(min_length=1, max_length=1000)
    keys: dict[str, str]

    @field_validator("endpoint")
    @classmethod
    def _https(cls, endpoint: str) -> str:
        if not endpoint.startswith(("https://", "http://")):
            raise ValueError("endpoint is the push service's URL")
        return endpoint

    @field_validator("keys")
    @classmethod
    def _keys(cls, keys: dict[str, str]) -> dict[str, str]:
        if not keys.get("p256dh") or not keys.get("auth") or len(keys["p256dh"]) > 200 or len(keys["auth"]) > 100:
            raise ValueError("keys needs p256dh and auth, as the browser's PushSubscription gives them")
        return keys


class PushKeyOut(Out):
    public_key: str


class NotificationSettingsIn(Model):
    """Change what is sent; a field left out stays as it is. Quiet hours are "HH:MM" (24 h), both or neither (null: none)."""

    quiet_hours_start: str | None = Field(None, max_length=5, description='"22:00"; null with the end to have no quiet hours')
    quiet_hours_end: str | None = Field(None, max_length=5, description='"07:00"; before the start means the next morning')
    mentions_when_muted: bool | None = Field(None, description="Whether a mention still sends Web Push from a muted group.")

    @field_validator("quiet_hours_start", "quiet_hours_end")
    @classmethod
    def _clock(cls, value: str | None) -> str | None:
        if value is not None and not CLOCK.match(value):
            raise ValueError('a time of day is "HH:MM", 00:00 to 23:59')
        return value


class NotificationSettingsOut(Out):
    quiet_hours_start: str | None = Field(description="Read in the time zone of each group's organisation.")
    quiet_hours_end: str | None
    mentions_when_muted: bool
    push_subscribed: bool = Field(description="Whether any browser of this person is subscribed to Web Push.")


class OrgNotificationSettingsIn(Model):
    sms_digest: bool = Field(description="SMS a digest of unread mentions to members no browser of whom is subscribed to Web Push.")


class OrgNotificationSettingsOut(Out):
    sms_digest: bool


class PaidAllowanceOut(Out):
    channel: Literal["sms", "call"]
    per_day: int = Field(description="How many the organisation may send a day (UTC); the server's operator sets it.")
    used_today: int = Field(description="How many it reserved today: a broadcast reserves, when sent, the most it could send.")
    per_number_per_day: int = Field(description="How many one phone number may receive a day, from all organisations together.")


class PaidAllowancesOut(Out):
    channels: list[PaidAllowanceOut]
    resets_at: dt.datetime = Field(description="When today's counts start again (midnight UTC).")
