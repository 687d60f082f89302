"""The provider this node uses, built from notify's settings."""
from __future__ import annotations

from server.channels.config import ChannelSettings
from server.channels.providers.base import Provider
from server.channels.providers.twilio import TwilioProvider
from server.channels.providers.webhook import WebhookProvider


def configured_provider(settings: ChannelSettings) -> Provider | None:
    """None when SMS and calls are off (provider 'none', or not configured)."""
    if settings.provider == "twilio" and settings.twilio_account_sid and settings.twilio_auth_token:
        return TwilioProvider(
            base_url=settings.twilio_base_url,
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            from_number=settings.from_number,
            timeout_s=settings.request_timeout_s,
        )
    if settings.provider == "webhook" and settings.webhook_url and settings.webhook_secret:
        return WebhookProvider(
            url=settings.webhook_url, secret=settings.webhook_secret, from_number=settings.from_number, timeout_s=settings.request_timeout_s
        )
    return None
