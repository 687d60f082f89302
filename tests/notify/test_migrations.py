"""notify's migrations: 0004 gives the SMS and calls still to send their callback tokens; 0005 moves Web Push subscriptions and paid counters to the platform; both go back."""
from __future__ import annotations

import asyncio

from alembic import command

from server.db.migrate import alembic_config, upgrade
from tests.server.test_migrations import _sql, empty_database_url  # noqa: F401 (a fixture)

ROWS = [
    "INSERT INTO organisations (id, name, slug, created_at) VALUES (7, 'O', 'o', CURRENT_TIMESTAMP)",
    "INSERT INTO users (id, name, email, kind, totp_enabled, created_at) VALUES (3, 'U', 'u@example.org', 'person', false, CURRENT_TIMESTAMP)",
    "INSERT INTO broadcasts (id, org_id, sender_id, title, body, attachments, policy, priority, recipient_count, created_at)"
    " VALUES (5, 7, 3, 'T', 'B', '[]', '{}', 5, 1, CURRENT_TIMESTAMP)",
    "INSERT INTO broadcast_recipients (id, org_id, broadcast_id, user_id, name, phone, has_push, stage, sent_at, remind_count)"
    " VALUES (9, 7, 5, 3, 'U', '+447946000000', false, 0, CURRENT_TIMESTAMP, 0)",
    "INSERT INTO notify_outbound (id, org_id, broadcast_id, recipient_id, channel, \"to\", priority, status, not_before, attempts, created_at)"
    " VALUES (1, 7, 5, 9, 'call', '+447946000000', 5, 'queued', CURRENT_TIMESTAMP, 0, CURRENT_TIMESTAMP),"
    " (2, 7, 5, 9, 'sms', '+447946000000', 5, 'sending', CURRENT_TIMESTAMP, 1, CURRENT_TIMESTAMP),"
    " (3, 7, 5, 9, 'sms', '+447946000000', 5, 'sent', CURRENT_TIMESTAMP, 1, CURRENT_TIMESTAMP),"
    " (4, 7, 5, 9, 'push', '3', 5, 'queued', CURRENT_TIMESTAMP, 0, CURRENT_TIMESTAMP)",
]


async def test_callback_tokens_are_given_to_the_sms_and_calls_still_to_send_and_taken_away_on_downgrade(empty_database_url):  # noqa: F811
    url = empty_database_url
    await asyncio.to_thread(upgrade, url)
    await asyncio.to_thread(command.downgrade, alembic_config(url), "0002_recipients_pending")
    await _sql(url, *ROWS)
    await asyncio.to_thread(upgrade, url)
    (tokens,) = await _sql(url, "SELECT id, callback_token, gathered_at FROM notify_outbound ORDER BY id")
    assert [(i, token is not None, gathered) for i, token, gathered in tokens] == [(1, True, None), (2, True, None), (3, False, None),
                                                                                   (4, False, None)]
    assert len(tokens[0][1]) == 43 and tokens[0][1] != tokens[1][1]

    await asyncio.to_thread(command.downgrade, alembic_config(url), "0002_recipients_pending")
    assert await _sql(url, "SELECT id, status FROM notify_outbound ORDER BY id") == [[(1, "queued"), (2, "sending"), (3, "sent"), (4, "queued")]]


async def test_push_subscriptions_and_paid_counters_move_to_the_platform_with_their_ids_and_back(empty_database_url):  # noqa: F811
    url = empty_database_url
    await asyncio.to_thread(upgrade, url)
    await asyncio.to_thread(command.downgrade, alembic_config(url), "0004_callback_tokens")
    await _sql(
        url,
        *ROWS[:2],
        "INSERT INTO notify_push_subscriptions (id, user_id, endpoint, p256dh, auth, created_at)"
        " VALUES (41, 3, 'https://push.example.org/a', 'p', 'a', CURRENT_TIMESTAMP)",
        "INSERT INTO notify_paid_usage (day, channel, scope, key, used) VALUES ('2026-12-06', 'sms', 'org', '7', 12)",
    )
    await asyncio.to_thread(upgrade, url)
    subscriptions, usage, _, new = await _sql(
        url,
        "SELECT id, user_id, endpoint FROM push_subscriptions",
        "SELECT channel, scope, key, used FROM paid_usage",
        "INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, created_at)"
        " VALUES (3, 'https://push.example.org/b', 'p', 'a', CURRENT_TIMESTAMP)",
        "SELECT max(id) FROM push_subscriptions",
    )
    assert subscriptions == [(41, 3, "https://push.example.org/a")]
    assert usage == [("sms", "org", "7", 12)]
    assert new == [(42,)]  # new ids follow the moved ones

    await asyncio.to_thread(command.downgrade, alembic_config(url), "0004_callback_tokens")
    assert await _sql(url, "SELECT id, endpoint FROM notify_push_subscriptions ORDER BY id", "SELECT used FROM notify_paid_usage") == [
        [(41, "https://push.example.org/a"), (42, "https://push.example.org/b")], [(12,)]]
