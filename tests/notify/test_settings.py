"""notify's settings never print their secrets: provider tokens and the VAPID private key are masked like the platform's."""
from __future__ import annotations

from notify.config import NotifySettings


def test_provider_and_vapid_secrets_are_masked_wherever_the_settings_are_printed():
    secrets = {"twilio_auth_token": "tw-token-123", "webhook_secret": "wh-secret-456", "vapid_private_key": "vapid-private-789"}
    settings = NotifySettings(**secrets, twilio_account_sid="ACvisible", vapid_public_key="BPublicKey")
    for printed in (repr(settings), str(settings), f"{settings}", repr([settings])):
        for value in secrets.values():
            assert value not in printed
        assert "ACvisible" in printed and "BPublicKey" in printed  # what is not a secret stays readable
    assert settings.twilio_auth_token == "tw-token-123"  # the value itself is unchanged for the code that uses it
