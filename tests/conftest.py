"""Fixtures shared by every test: a migrated database on each backend, the app, a client.

``backend`` runs a test on both SQLite (the embedded default) and PostgreSQL.
Each test starts from empty tables: SQLite gets a copy of a migrated template
file; PostgreSQL gets one database per run whose tables are truncated between tests.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from server.app import create_app
from server.appkeys import DB
from server.config import Settings
from server.db import Base
from server.db.migrate import upgrade
from tests import services


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing():
    """argon2id at its production cost takes 50-500 ms a hash; tests create hundreds of accounts.

    The same algorithm with the smallest cost keeps every code path (hash, verify,
    the dummy hash for unknown accounts) real while taking under a millisecond.
    """
    from argon2 import PasswordHasher

    from server.accounts import passwords

    saved = passwords._hasher, passwords._DUMMY_HASH
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    passwords._DUMMY_HASH = passwords._hasher.hash("muster-dummy-password")
    yield
    passwords._hasher, passwords._DUMMY_HASH = saved


@pytest.fixture(autouse=True)
def media_in_process_outside_rooms(request, monkeypatch):
    """Outside tests/rooms the app's SFU is one worker inside the server process.

    A default install starts one media worker process per core with every app;
    only rooms' tests look at meetings' media, and they keep that default (or
    ask for another with their own fixtures). Elsewhere the two interpreters a
    test's app would spawn cost about 0.25 s a test and do nothing.
    """
    if "rooms" not in Path(str(request.path)).relative_to(Path(__file__).parent).parts:
        monkeypatch.setenv("MUSTER_ROOMS_MEDIA_PROCESSES", "false")
        monkeypatch.setenv("MUSTER_ROOMS_MEDIA_WORKERS", "1")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "muster.sqlite3"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url():
    services.require_postgres()
    url = services.create_postgres_database()
    upgrade(url)
    yield url
    services.drop_postgres_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(backend, request, tmp_path) -> str:
    if backend == "postgresql":
        return request.getfixturevalue("postgres_url")
    path = tmp_path / "muster.sqlite3"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, secret_key="test-secret-key", login_max_failures=5)


@pytest.fixture
async def app(settings, backend):
    app = create_app(settings)
    if backend == "postgresql":
        await truncate_all(app[DB])
    yield app
    await app[DB].close()


@pytest.fixture
async def client(app):
    async with TestClient(TestServer(app)) as client:
        yield client


@pytest.fixture
def db(app):
    return app[DB]


async def truncate_all(db) -> None:
    """Empty every table; first end any connection an earlier test left behind.

    A connection leaked while idle in a transaction (a task cancelled at the
    wrong moment) would hold its locks for the rest of the run, and TRUNCATE
    would wait on them forever; the lock timeout turns anything else that
    blocks it into an error rather than a hung suite.
    """
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with db.transaction() as tx:
        await tx.session.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ))
        await tx.session.execute(text("SET LOCAL lock_timeout = '20s'"))
        await tx.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
