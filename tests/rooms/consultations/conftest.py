"""The consultations tests' SMS provider (the fake Twilio: codes are read off the SMS it received) and settings."""
from __future__ import annotations

import pytest

from server.config import Settings
from tests.server.accounts.phones import sms  # noqa: F401  (the fixture)


@pytest.fixture
def settings(sms, database_url, tmp_path) -> Settings:  # noqa: F811  (sms: the imported fixture)
    """Every patient of these tests asks from 127.0.0.1: the address's limit is lifted (tests/server/accounts/ test it)."""
    return Settings(data_dir=tmp_path / "data", database_url=database_url, secret_key="test-secret-key-for-consultations",
                    phone_code_resend_s=0, phone_codes_per_address=100, phone_codes_per_org=100)
