"""notify's settings, read once from ``MUSTER_NOTIFY_*`` environment variables.

The provider's plan sets ``sms_per_s`` and ``calls_per_s``: Muster paces every
node together to those rates (server-side, through the ``notify_pacing`` row),
so a burst of escalations is spread out instead of answered with 429s.
Callbacks from the provider come to the platform's ``MUSTER_PUBLIC_URL``. Tokens, the
webhook secret and the VAPID private key are ``SecretSetting``s: printed, they read ``***``.

SMS and calls cost the operator money: the ``*_per_org_per_day``,
``*_per_number_per_day`` and ``*_per_address_per_day`` allowances bound what
anyone may make the server send (notify/paid.py), and escalation policies may
not use them sooner or more often than ``paid_min_delay_s`` and
``paid_max_repeats`` allow.
"""
from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from server.config import MaskedSettings, SecretSetting


class NotifySettings(MaskedSettings):
    model_config = SettingsConfigDict(env_prefix="MUSTER_NOTIFY_", extra="ignore")

    provider: str = Field("twilio", description="SMS and phone provider: 'twilio' (any Twilio-compatible REST API), 'webhook', or 'none'.")
    twilio_base_url: str = Field("https://api.twilio.com", description="Base URL of the Twilio-compatible REST API.")
    twilio_account_sid: str = Field("", description="Account SID (basic-auth user and part of the API path).")
    twilio_auth_token: SecretSetting = Field("", description="Auth token: basic-auth password, and the key that signs the provider's callbacks.")
    from_number: str = Field("", description="Caller id / sender number, E.164.")
    webhook_url: str = Field("", description="For provider=webhook: URL that receives each SMS or call as signed JSON.")
    webhook_secret: SecretSetting = Field("", description="For provider=webhook: HMAC-SHA256 key of the X-Muster-Signature header, both ways.")
    sms_per_s: float = Field(10.0, gt=0, description="SMS per second the provider's plan allows; every node together stays under it.")
    calls_per_s: float = Field(1.0, gt=0, description="Calls per second the provider's plan allows.")
    push_per_s: float = Field(200.0, gt=0, description="Web Push messages per second.")
    request_timeout_s: float = Field(10.0, gt=0, description="How long one provider request may take before it counts as failed and is retried.")
    max_attempts: int = Field(5, ge=1, description="Tries of one SMS, call or push before it is recorded as failed.")
    retry_base_s: float = Field(2.0, gt=0, description="First retry delay; doubles with each further try.")
    vapid_private_key: SecretSetting = Field("", description="VAPID private key (PEM or base64url) for Web Push; empty disables Web Push.")
    vapid_public_key: str = Field("", description="VAPID public key (base64url, uncompressed point) that browsers subscribe with.")
    vapid_subject: str = Field("mailto:admin@localhost", description="VAPID 'sub' claim: a mailto: or https: contact.")
    push_allow_private: bool = Field(False, description="Tests and labs only: let Web Push endpoints be http:// and at private, loopback "
                                     "or link-local addresses. Off: https to public addresses only, checked after resolving.")
    engine: bool = Field(True, description="Run the escalation and delivery workers on this node.")
    engine_batch: int = Field(500, ge=1, description="Escalation steps one node claims per transaction.")
    engine_idle_s: float = Field(0.5, gt=0, description="Longest sleep of the workers between looks at the queue.")
    claim_lease_s: float = Field(60.0, gt=0, description="A message claimed by a node that died is taken over after this long.")
    sms_after_s: int | None = Field(60, description="Default policy: SMS a recipient who has not read after this many seconds (empty or 'off': never).")
    call_after_s: int | None = Field(180, description="Default policy: call a recipient who has not confirmed after this many seconds (empty or 'off': never).")
    repeats: int = Field(2, ge=0, description="Default policy: how many times SMS and call are repeated.")
    repeat_interval_s: int = Field(300, ge=1, description="Default policy: seconds between repeats.")
    sms_per_org_per_day: int = Field(5000, ge=0, description="SMS one organisation may send a day (UTC); a broadcast that could pass it is refused when sent.")
    calls_per_org_per_day: int = Field(1000, ge=0, description="Calls one organisation may place a day (UTC).")
    sms_per_number_per_day: int = Field(20, ge=0, description="SMS one phone number may receive a day, from all organisations together.")
    calls_per_number_per_day: int = Field(10, ge=0, description="Calls one phone number may receive a day, from all organisations together.")
    sms_per_address_per_day: int = Field(20, ge=0, description="SMS one client address may cause a day, where a code is sent to a number someone typed in.")
    calls_per_address_per_day: int = Field(10, ge=0, description="Calls one client address may cause a day, likewise.")
    paid_min_delay_s: int = Field(60, ge=0, description="Escalation policies: the earliest an SMS or call may go after sending, and the shortest interval between repeats.")
    paid_max_repeats: int = Field(3, ge=0, description="Escalation policies: the most repeats of SMS and calls.")
    push_after_s: int = Field(5, ge=0, description="Web Push to a recipient whose devices have not acknowledged after this many seconds.")

    @field_validator("sms_after_s", "call_after_s", mode="before")
    @classmethod
    def _off(cls, value):
        return None if isinstance(value, str) and value.strip().lower() in ("", "off", "none") else value
