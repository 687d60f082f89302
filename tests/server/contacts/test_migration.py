"""Migration 0014_contacts: up with the tables and the groups' flag, down without losing the groups."""
from __future__ import annotations

import asyncio

from alembic import command

from server.db.migrate import alembic_config, upgrade
from tests.server.test_migrations import _sql, empty_database_url  # noqa: F401  (the fixture)


async def test_contacts_tables_come_and_go_and_existing_groups_are_not_external(empty_database_url):  # noqa: F811
    url = empty_database_url
    await asyncio.to_thread(upgrade, url, "0010_audit")
    await _sql(
        url,
        "INSERT INTO organisations (id, name, slug, created_at) VALUES (7, 'O', 'o', CURRENT_TIMESTAMP)",
        "INSERT INTO users (id, kind, name, totp_enabled, created_at) VALUES (3, 'person', 'P', false, CURRENT_TIMESTAMP)",
        "INSERT INTO groups (id, org_id, name, last_seq, last_change_seq, member_limit, allow_guests, created_at) "
        "VALUES (5, 7, 'Ward', 0, 0, 10, false, CURRENT_TIMESTAMP)",
    )
    await asyncio.to_thread(upgrade, url, "0014_contacts")
    [groups, _, _] = await _sql(
        url,
        "SELECT id, external FROM groups",
        "INSERT INTO contact_policies (org_id, contact_limit, group_member_limit, contact_count) VALUES (7, 50000, 500, 1)",
        "INSERT INTO external_contacts (id, org_id, user_id, owner_id, chat_group_id, created_at) VALUES (1, 7, 3, 3, 5, CURRENT_TIMESTAMP)",
    )
    assert [(i, bool(e)) for i, e in groups] == [(5, False)]
    await asyncio.to_thread(command.downgrade, alembic_config(url), "0010_audit")
    [groups] = await _sql(url, "SELECT id, name FROM groups")
    assert groups == [(5, "Ward")]
    await asyncio.to_thread(upgrade, url, "0014_contacts")
    [rows] = await _sql(url, "SELECT count(*) FROM external_contacts")
    assert rows == [(0,)]
