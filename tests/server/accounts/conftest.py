"""Fixtures of the accounts tests: a small login limit (fast to reach), members, a guest scope kind."""
from __future__ import annotations

import time

import pyotp
import pytest
from sqlalchemy import select

from server.accounts import guests
from server.config import Settings
from server.db import Database
from server.errors import Forbidden, NotFound
from server.gateway.models import UserEvent
from server.orgs.models import Membership
from tests.factories import make_user, sign_in

MAX_FAILURES = 2
WINDOW_S = 900


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        secret_key="test-secret-key",
        login_max_failures=MAX_FAILURES,
        login_window_s=WINDOW_S,
        public_url="https://muster.example.org",
    )


# The guest scope kind these tests invite to: thing 1 anyone in the org may
# invite to, thing 2 only admins; any other id does not exist.
THING_FOR_MEMBERS, THING_FOR_ADMINS = 1, 2


async def check_test_thing(tx, org, scope_id: int) -> None:
    if scope_id not in (THING_FOR_MEMBERS, THING_FOR_ADMINS):
        raise NotFound("no such thing")
    if scope_id == THING_FOR_ADMINS and not org.is_admin:
        raise Forbidden("only admins may invite to this thing")


@pytest.fixture
def guest_scope(monkeypatch) -> str:
    monkeypatch.setattr(guests, "_scope_checks", {})
    guests.register_guest_scope("test-thing", check_test_thing)
    return "test-thing"


async def add_member(db: Database, org_id: int, user, role: str = "member") -> None:
    async with db.transaction(org_id=org_id) as tx:
        tx.session.add(Membership(org_id=org_id, user_id=user.id, role=role, display_name=user.name, email=user.email))


async def member_headers(client, db: Database, org_id: int, role: str = "member") -> tuple[object, dict[str, str]]:
    user = await make_user(db)
    await add_member(db, org_id, user, role)
    return user, await sign_in(client, user.email)


async def events_of(db: Database, user_id: int, type: str) -> list[dict]:
    async with db.transaction() as tx:
        rows = await tx.session.scalars(
            select(UserEvent).where(UserEvent.user_id == user_id, UserEvent.type == type).order_by(UserEvent.seq)
        )
        return [r.data for r in rows]


def totp_code(secret: str, steps_from_now: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_from_now)


def wait_for_fresh_step(margin_s: float = 3.0) -> None:
    """Sleep past a step boundary that is less than ``margin_s`` away, so codes computed now
    are still in the server's ±1 window when it checks them."""
    left = 30 - time.time() % 30
    if left < margin_s:
        time.sleep(left + 0.05)
