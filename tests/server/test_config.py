"""The platform's settings print without their secrets (logs, tracebacks)."""
from __future__ import annotations

import pytest

from server.cli import build_parser
from server.config import Settings


def test_the_secret_key_and_connection_urls_are_masked_when_the_settings_are_printed(tmp_path):
    secrets = {"secret_key": "platform-secret-key", "database_url": "postgresql+asyncpg://muster:db-pass@db/muster",
               "redis_url": "redis://:redis-pass@cache:6379", "metrics_token": "metrics-token"}
    settings = Settings(data_dir=tmp_path, **secrets)
    for printed in (repr(settings), str(settings)):
        for value in secrets.values():
            assert value not in printed
        assert str(tmp_path) in printed


def test_muster_serve_help_shows_what_each_setting_means_never_its_value(monkeypatch, capsys):
    monkeypatch.setenv("MUSTER_SECRET_KEY", "platform-secret-key")
    monkeypatch.setenv("MUSTER_NOTIFY_TWILIO_AUTH_TOKEN", "tw-token-123")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--help"])
    printed = capsys.readouterr().out
    assert "MUSTER_SECRET_KEY" in printed
    assert "platform-secret-key" not in printed and "tw-token-123" not in printed
