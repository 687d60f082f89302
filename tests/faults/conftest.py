"""Fixtures of the fault tests: a private PostgreSQL and Redis (tests/faults/private.py), and real nodes on them."""
from __future__ import annotations

import pytest

from tests import services
from tests.faults.private import PrivatePostgres, PrivateRedis


@pytest.fixture
def private_postgres():
    """A running cluster of the test's own; removed after the test, running or not."""
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
def private_redis(tmp_path):
    """A running redis-server of the test's own; stopped after the test."""
    folder = tmp_path / "redis"
    folder.mkdir()
    server = PrivateRedis(folder)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def private_nodes(request, tmp_path, private_postgres, private_redis):
    """Real ``muster serve`` nodes on the private PostgreSQL and Redis (``services.Nodes``): two, "a" and "b", or the names
    given with ``@pytest.mark.parametrize("private_nodes", [["a"]], indirect=True)``. Whatever the test left stopped is
    started again before the nodes go (their database is dropped)."""
    names = getattr(request, "param", ["a", "b"])
    with services.muster_nodes(tmp_path, names, postgres_admin_url=private_postgres.admin_url, redis_url=private_redis.url) as nodes:
        yield nodes
        if not private_postgres.running:
            private_postgres.start()
        if private_redis.process is None:
            private_redis.start()
