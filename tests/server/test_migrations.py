"""The migrations are the schema: after upgrading, the database matches the models exactly."""
from __future__ import annotations

import asyncio

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine

from server.db import Base
from server.db.migrate import alembic_config, upgrade
from tests import services


async def test_migrated_schema_matches_the_models(db):
    async with db.engine.connect() as conn:
        opts = {"compare_type": False, "include_name": _modelled}
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c, opts=opts), Base.metadata))
    assert diff == []


def _modelled(name, type_, _parent) -> bool:
    """Tables and indexes a migration creates on purpose outside the models (e.g. full-text search) are not drift."""
    return name not in Base.metadata.info.get("unmodelled", ())


@pytest.fixture
def empty_database_url(backend, tmp_path):
    """A database of its own, never migrated, on each backend."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    services.require_postgres()
    url = services.create_postgres_database()
    yield url
    services.drop_postgres_database(url)


async def _sql(url: str, *statements: str) -> list:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                await conn.execute(text("PRAGMA foreign_keys=ON"))
            results = [await conn.execute(text(s)) for s in statements]
            return [r.all() if r.returns_rows else None for r in results]
    finally:
        await engine.dispose()


async def test_files_move_to_the_platform_with_their_ids_uploads_and_quota_and_back(empty_database_url):
    url = empty_database_url
    await asyncio.to_thread(upgrade, url, "0005_groups_cjk_search")
    await _sql(
        url,
        "INSERT INTO organisations (id, name, slug, created_at) VALUES (7, 'O', 'o', CURRENT_TIMESTAMP)",
        "INSERT INTO users (id, name, email, kind, totp_enabled, created_at) VALUES (3, 'U', 'u@example.org', 'person', false, CURRENT_TIMESTAMP)",
        "INSERT INTO groups (id, org_id, name, last_seq, last_change_seq, member_limit, allow_guests, created_at)"
        " VALUES (5, 7, 'G', 1, 1, 10, false, CURRENT_TIMESTAMP)",
        "INSERT INTO group_files (id, org_id, group_id, uploader_id, filename, content_type, size, storage_key, created_at)"
        " VALUES (41, 7, 5, 3, 'a.pdf', 'application/pdf', 100, 'k41', CURRENT_TIMESTAMP)",
        "INSERT INTO group_uploads (id, org_id, group_id, uploader_id, filename, content_type, length, file_id, created_at)"
        " VALUES ('done', 7, 5, 3, 'a.pdf', 'application/pdf', 100, 41, CURRENT_TIMESTAMP),"
        " ('half', 7, 5, 3, 'b.pdf', 'application/pdf', 50, NULL, CURRENT_TIMESTAMP)",
        "INSERT INTO group_messages (org_id, group_id, seq, change_seq, sender_id, kind, body, cjk_terms, mentions, mention_all, file_id, created_at)"
        " VALUES (7, 5, 1, 1, 3, 'file', 'a.pdf', '', '[]', false, 41, CURRENT_TIMESTAMP)",
        "INSERT INTO group_storage (org_id, reserved_bytes) VALUES (7, 150)",
    )
    await asyncio.to_thread(upgrade, url)
    files, uploads, storage, _, _, message = await _sql(
        url,
        "SELECT id, owner_kind, owner_id, storage_key FROM files",
        "SELECT id, owner_kind, owner_id, file_id FROM uploads ORDER BY id",
        "SELECT org_id, reserved_bytes FROM org_storage",
        "INSERT INTO files (org_id, owner_kind, owner_id, uploader_id, filename, content_type, size, storage_key, created_at)"
        " VALUES (7, 'broadcast', NULL, 3, 'c.png', 'image/png', 1, 'k', CURRENT_TIMESTAMP)",
        "UPDATE group_messages SET file_id = (SELECT MAX(id) FROM files)",
        "SELECT file_id FROM group_messages",
    )
    assert files == [(41, "group", 5, "k41")]
    assert uploads == [("done", "group", 5, 41), ("half", "group", 5, None)]
    assert storage == [(7, 150)]
    assert message == [(42,)]  # new ids follow the copied ones, and messages point at the new table
    with pytest.raises(IntegrityError):
        await _sql(url, "UPDATE group_messages SET file_id = 999")
    await _sql(url, "UPDATE group_messages SET file_id = 41")

    await asyncio.to_thread(command.downgrade, alembic_config(url), "0005_groups_cjk_search")
    assert await _sql(
        url, "SELECT id, group_id FROM group_files", "SELECT id, group_id, file_id FROM group_uploads ORDER BY id",
        "SELECT org_id, reserved_bytes FROM group_storage", "SELECT file_id FROM group_messages",
    ) == [[(41, 5)], [("done", 5, 41), ("half", 5, None)], [(7, 150)], [(41,)]]  # the broadcast's file is gone; the counter is recounted


async def test_uploads_in_progress_keep_their_full_reservation_across_upload_limits_and_back(empty_database_url):
    url = empty_database_url
    await asyncio.to_thread(upgrade, url, "0006_files")
    await _sql(
        url,
        "INSERT INTO organisations (id, name, slug, created_at) VALUES (7, 'O', 'o', CURRENT_TIMESTAMP)",
        "INSERT INTO users (id, name, email, kind, totp_enabled, created_at) VALUES (3, 'U', 'u@example.org', 'person', false, CURRENT_TIMESTAMP)",
        "INSERT INTO uploads (id, org_id, owner_kind, owner_id, uploader_id, filename, content_type, length, file_id, created_at)"
        " VALUES ('half', 7, 'group', 5, 3, 'b.pdf', 'application/pdf', 800, NULL, CURRENT_TIMESTAMP)",
        "INSERT INTO org_storage (org_id, reserved_bytes) VALUES (7, 800)",
    )
    await asyncio.to_thread(upgrade, url, "0009_upload_limits")
    uploads, _, _ = await _sql(
        url,
        "SELECT reserved_bytes, updated_at = created_at FROM uploads",
        "UPDATE uploads SET reserved_bytes = 100",  # under the new scheme: 100 bytes reserved as they arrived
        "UPDATE org_storage SET reserved_bytes = 100",
    )
    assert [tuple(row) for row in uploads] == [(800, True)]
    await asyncio.to_thread(command.downgrade, alembic_config(url), "0006_files")
    assert await _sql(url, "SELECT reserved_bytes FROM org_storage") == [[(800,)]]


async def test_trusted_devices_and_account_notices_come_and_go_with_their_revision(empty_database_url):
    url = empty_database_url
    await asyncio.to_thread(upgrade, url, "0010_audit")
    await _sql(url, "INSERT INTO users (id, name, email, kind, totp_enabled, created_at) VALUES (3, 'U', 'u@example.org', 'person', true, CURRENT_TIMESTAMP)")
    await asyncio.to_thread(upgrade, url, "0012_trusted_devices")
    await _sql(
        url,
        "INSERT INTO trusted_devices (user_id, token_hash, device_name, user_agent, created_at, last_used_at, expires_at)"
        " VALUES (3, 'h', 'Laptop', 'UA', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        "INSERT INTO account_notices (user_id, kind, data, created_at) VALUES (3, 'new_device', '{}', CURRENT_TIMESTAMP)",
    )
    with pytest.raises(IntegrityError):  # a token is one device's
        await _sql(
            url,
            "INSERT INTO trusted_devices (user_id, token_hash, device_name, user_agent, created_at, last_used_at, expires_at)"
            " VALUES (3, 'h', 'Phone', 'UA', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        )
    assert await _sql(url, "DELETE FROM users", "SELECT COUNT(*) FROM trusted_devices", "SELECT COUNT(*) FROM account_notices") == [None, [(0,)], [(0,)]]

    await asyncio.to_thread(command.downgrade, alembic_config(url), "0010_audit")
    with pytest.raises(Exception, match="trusted_devices"):
        await _sql(url, "SELECT 1 FROM trusted_devices")


async def test_existing_members_get_pinyin_keys_and_lose_them_on_the_way_back(empty_database_url):
    url = empty_database_url
    await asyncio.to_thread(upgrade, url, "0012_trusted_devices")
    await _sql(
        url,
        "INSERT INTO organisations (id, name, slug, created_at) VALUES (7, 'O', 'o', CURRENT_TIMESTAMP)",
        "INSERT INTO users (id, name, email, kind, totp_enabled, created_at) VALUES"
        " (3, 'a', 'a@example.org', 'person', false, CURRENT_TIMESTAMP), (4, 'b', 'b@example.org', 'person', false, CURRENT_TIMESTAMP),"
        " (5, 'c', 'c@example.org', 'person', false, CURRENT_TIMESTAMP)",
        "INSERT INTO memberships (id, org_id, user_id, role, display_name, title, created_at) VALUES"
        " (1, 7, 3, 'owner', '张伟', '', CURRENT_TIMESTAMP), (2, 7, 4, 'member', '曾志伟', '', CURRENT_TIMESTAMP),"
        " (3, 7, 5, 'member', 'Li Na', '', CURRENT_TIMESTAMP)",
    )
    await asyncio.to_thread(upgrade, url, "0013_name_pinyin")
    assert await _sql(url, "SELECT display_name, name_sort_key, name_search_key FROM memberships ORDER BY name_sort_key, id") == [[
        ("Li Na", "li na", "lina ln"), ("曾志伟", "zeng zhi wei", "zengzhiwei zzw"), ("张伟", "zhang wei", "zhangwei zw"),
    ]]

    await asyncio.to_thread(command.downgrade, alembic_config(url), "0012_trusted_devices")
    assert await _sql(url, "SELECT id, display_name FROM memberships ORDER BY id") == [[(1, "张伟"), (2, "曾志伟"), (3, "Li Na")]]


async def test_forwarded_messages_and_voice_lengths_come_and_go_with_0015_chat(empty_database_url):
    url = empty_database_url
    await asyncio.to_thread(upgrade, url, "0015_chat")
    await _sql(
        url,
        "INSERT INTO organisations (id, name, slug, created_at) VALUES (7, 'O', 'o', CURRENT_TIMESTAMP)",
        "INSERT INTO groups (id, org_id, name, last_seq, last_change_seq, member_limit, allow_guests, created_at)"
        " VALUES (5, 7, 'G', 1, 1, 10, false, CURRENT_TIMESTAMP)",
        "INSERT INTO group_messages (org_id, group_id, seq, change_seq, kind, body, cjk_terms, mentions, mention_all, forwarded_from, duration_ms, created_at)"
        """ VALUES (7, 5, 1, 1, 'voice', 'v.webm', '', '[]', false, '{"group_id": 4, "seq": 9, "sender_id": null}', 1500, CURRENT_TIMESTAMP)""",
    )
    assert await _sql(url, "SELECT duration_ms FROM group_messages") == [[(1500,)]]
    await asyncio.to_thread(command.downgrade, alembic_config(url), "0015_chat-1")
    assert await _sql(url, "SELECT seq, body FROM group_messages") == [[(1, "v.webm")]]  # the message stays, the two columns go
    with pytest.raises(Exception, match="duration_ms"):
        await _sql(url, "SELECT duration_ms FROM group_messages")
    await asyncio.to_thread(upgrade, url, "0015_chat")
    assert await _sql(url, "SELECT forwarded_from, duration_ms FROM group_messages") == [[(None, None)]]
