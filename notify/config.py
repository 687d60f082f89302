"""notify's settings, read once from ``MUSTER_NOTIFY_*`` environment variables.

The provider's plan sets ``sms_per_s`` and ``calls_per_s``: Muster paces every
node together to those rates (server-side, through the ``notify_pacing`` row),
so a burst of escalations is spread out instead of answered with 429s.
Callbacks from the provider come to the platform's ``MUSTER_PUBLIC_URL``. Tokens, the
webhook secret and the VAPID private key are ``SecretSetting``s: printed, they read ``***``.

SMS and calls cost the operator money: the ``*_per_org_per_day``,
``*_per_number_per_day`` and ``*_per_address_per_day`` allowances bound what
anyone may make the server send (server/channels/paid.py), and escalation policies may
not use them sooner or more often than ``paid_min_delay_s`` and
``paid_max_repeats`` allow.
"""
from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from server.channels.config import ChannelSettings


class NotifySettings(ChannelSettings):
    """The channels' settings (server/channels/config.py) and notify's own: pacing, escalation, retries."""

    model_config = SettingsConfigDict(env_prefix="MUSTER_NOTIFY_", extra="ignore")

    sms_per_s: float = Field(10.0, gt=0, description="SMS per second the provider's plan allows; every node together stays under it.")
    calls_per_s: float = Field(1.0, gt=0, description="Calls per second the provider's plan allows.")
    push_per_s: float = Field(200.0, gt=0, description="Web Push messages per second.")
    max_attempts: int = Field(5, ge=1, description="Tries of one SMS, call or push before it is recorded as failed.")
    retry_base_s: float = Field(2.0, gt=0, description="First retry delay; doubles with each further try.")
    engine: bool = Field(True, description="Run the escalation and delivery workers on this node.")
    engine_batch: int = Field(500, ge=1, description="Escalation steps one node claims per transaction.")
    engine_idle_s: float = Field(0.5, gt=0, description="Longest sleep of the workers between looks at the queue.")
    claim_lease_s: float = Field(60.0, gt=0, description="A message claimed by a node that died is taken over after this long.")
    sms_after_s: int | None = Field(60, description="Default policy: SMS a recipient who has not read after this many seconds (empty or 'off': never).")
    call_after_s: int | None = Field(180, description="Default policy: call a recipient who has not confirmed after this many seconds (empty or 'off': never).")
    repeats: int = Field(2, ge=0, description="Default policy: how many times SMS and call are repeated.")
    repeat_interval_s: int = Field(300, ge=1, description="Default policy: seconds between repeats.")
    paid_min_delay_s: int = Field(60, ge=0, description="Escalation policies: the earliest an SMS or call may go after sending, and the shortest interval between repeats.")
    paid_max_repeats: int = Field(3, ge=0, description="Escalation policies: the most repeats of SMS and calls.")
    push_after_s: int = Field(5, ge=0, description="Web Push to a recipient whose devices have not acknowledged after this many seconds.")

    @field_validator("sms_after_s", "call_after_s", mode="before")
    @classmethod
    def _off(cls, value):
        return None if isinstance(value, str) and value.strip().lower() in ("", "off", "none") else value
