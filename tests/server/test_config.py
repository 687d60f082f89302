"""The platform's settings print without their secrets (logs, tracebacks)."""
from __future__ import annotations

from server.config import Settings


def test_the_secret_key_and_connection_urls_are_masked_when_the_settings_are_printed(tmp_path):
    secrets = {"secret_key": "platform-secret-key", "database_url": "postgresql+asyncpg://muster:db-pass@db/muster",
               "redis_url": "redis://:redis-pass@cache:6379", "metrics_token": "metrics-token"}
    settings = Settings(data_dir=tmp_path, **secrets)
    for printed in (repr(settings), str(settings)):
        for value in secrets.values():
            assert value not in printed
        assert str(tmp_path) in printed
