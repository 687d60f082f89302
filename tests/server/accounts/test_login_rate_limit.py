"""The login rate limit: per account and per address, checked before the password, with Retry-After."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from server.accounts.models import LoginFailure
from server.db import utcnow
from tests.factories import PASSWORD, make_user
from tests.server.accounts.conftest import MAX_FAILURES, WINDOW_S


async def login(client, email: str, password: str):
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


async def fail_times(client, email: str, n: int) -> None:
    for _ in range(n):
        resp = await login(client, email, "wrong password")
        assert resp.status == 401, await resp.text()


async def test_account_is_locked_after_max_failures_even_for_the_right_password(client, db, backend):
    user = await make_user(db)
    await fail_times(client, user.email, MAX_FAILURES)

    resp = await login(client, user.email, PASSWORD)

    assert resp.status == 429
    body = await resp.json()
    assert body["error"]["code"] == "rate_limited"
    assert "this account" in body["error"]["message"]
    assert 0 < int(resp.headers["Retry-After"]) <= WINDOW_S


async def test_lock_lifts_when_the_failures_leave_the_window(client, db, backend):
    user = await make_user(db)
    await fail_times(client, user.email, MAX_FAILURES)
    async with db.transaction() as tx:
        await tx.session.execute(update(LoginFailure).values(at=utcnow() - dt.timedelta(seconds=WINDOW_S + 1)))

    assert (await login(client, user.email, PASSWORD)).status == 200


async def test_retry_after_counts_down_to_when_the_oldest_counted_failure_expires(client, db, backend):
    user = await make_user(db)
    await fail_times(client, user.email, MAX_FAILURES)
    async with db.transaction() as tx:
        await tx.session.execute(update(LoginFailure).values(at=utcnow() - dt.timedelta(seconds=WINDOW_S - 100)))

    resp = await login(client, user.email, PASSWORD)

    assert resp.status == 429
    assert 95 <= int(resp.headers["Retry-After"]) <= 100


async def test_successful_login_clears_the_accounts_failures(client, db, backend):
    user = await make_user(db)
    await fail_times(client, user.email, MAX_FAILURES - 1)
    assert (await login(client, user.email, PASSWORD)).status == 200

    # Without the reset these would already exceed the limit.
    await fail_times(client, user.email, MAX_FAILURES)
    assert (await login(client, user.email, PASSWORD)).status == 429


async def test_address_is_locked_after_four_times_the_account_limit(client, db, backend):
    for n in range(MAX_FAILURES * 4):
        await fail_times(client, f"nobody{n}@example.org", 1)
    user = await make_user(db)

    resp = await login(client, user.email, PASSWORD)

    assert resp.status == 429
    assert "your address" in (await resp.json())["error"]["message"]


async def test_unknown_email_is_limited_like_a_real_account(client, db, backend):
    await fail_times(client, "nobody@example.org", MAX_FAILURES)
    resp = await login(client, "Nobody@Example.org", "wrong password")
    assert resp.status == 429


async def test_lock_of_one_account_leaves_another_alone(client, db, backend):
    locked, other = await make_user(db), await make_user(db)
    await fail_times(client, locked.email, MAX_FAILURES)
    assert (await login(client, other.email, PASSWORD)).status == 200


async def test_failures_older_than_the_window_are_pruned(client, db, backend):
    async with db.transaction() as tx:
        tx.session.add(LoginFailure(key="account:old@example.org", at=utcnow() - dt.timedelta(seconds=WINDOW_S + 60)))
    await fail_times(client, "someone@example.org", 1)

    async with db.transaction() as tx:
        keys = (await tx.session.scalars(select(LoginFailure.key))).all()
        total = await tx.session.scalar(select(func.count()).select_from(LoginFailure))
    assert "account:old@example.org" not in keys
    assert sorted(keys) == ["account:someone@example.org", "addr:127.0.0.1"] and total == 2
