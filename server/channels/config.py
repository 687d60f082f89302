"""The message channels' settings: the SMS/phone provider, Web Push (VAPID) and the daily allowances of paid messages.

They keep the ``MUSTER_NOTIFY_*`` names they had when only notify/ sent
messages, so a deployment's environment goes on working; notify's own
settings (``NotifySettings``) extend these. Tokens, the webhook secret and
the VAPID private key are ``SecretSetting``s: printed, they read ``***``.
"""
from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from server.config import MaskedSettings, SecretSetting


class ChannelSettings(MaskedSettings):
    model_config = SettingsConfigDict(env_prefix="MUSTER_NOTIFY_", extra="ignore")

    provider: str = Field("twilio", description="SMS and phone provider: 'twilio' (any Twilio-compatible REST API), 'webhook', or 'none'.")
    twilio_base_url: str = Field("https://api.twilio.com", description="Base URL of the Twilio-compatible REST API.")
    twilio_account_sid: str = Field("", description="Account SID (basic-auth user and part of the API path).")
    twilio_auth_token: SecretSetting = Field("", description="Auth token: basic-auth password, and the key that signs the provider's callbacks.")
    from_number: str = Field("", description="Caller id / sender number, E.164.")
    webhook_url: str = Field("", description="For provider=webhook: URL that receives each SMS or call as signed JSON.")
    webhook_secret: SecretSetting = Field("", description="For provider=webhook: HMAC-SHA256 key of the X-Muster-Signature header, both ways.")
    request_timeout_s: float = Field(10.0, gt=0, description="How long one provider request may take before it counts as failed and is retried.")
    vapid_private_key: SecretSetting = Field("", description="VAPID private key (PEM or base64url) for Web Push; empty disables Web Push.")
    vapid_public_key: str = Field("", description="VAPID public key (base64url, uncompressed point) that browsers subscribe with.")
    vapid_subject: str = Field("mailto:admin@localhost", description="VAPID 'sub' claim: a mailto: or https: contact.")
    push_allow_private: bool = Field(False, description="Tests and labs only: let Web Push endpoints be http:// and at private, loopback "
                                     "or link-local addresses. Off: https to public addresses only, checked after resolving.")
    sms_per_org_per_day: int = Field(5000, ge=0, description="SMS one organisation may send a day (UTC); a broadcast that could pass it is refused when sent.")
    calls_per_org_per_day: int = Field(1000, ge=0, description="Calls one organisation may place a day (UTC).")
    sms_per_number_per_day: int = Field(20, ge=0, description="SMS one phone number may receive a day, from all organisations together.")
    calls_per_number_per_day: int = Field(10, ge=0, description="Calls one phone number may receive a day, from all organisations together.")
    sms_per_address_per_day: int = Field(20, ge=0, description="SMS one client address may cause a day, where a code is sent to a number someone typed in.")
    calls_per_address_per_day: int = Field(10, ge=0, description="Calls one client address may cause a day, likewise.")
