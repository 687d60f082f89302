"""Creating accounts. People normally arrive through an organisation (import, admin, demo)."""
from __future__ import annotations

from sqlalchemy import func, select

from server.accounts.login import normalise_email
from server.accounts.models import User
from server.accounts.passwords import check_new_password, hash_password
from server.db import Transaction
from server.errors import Conflict


async def do_create_user(tx: Transaction, *, name: str, email: str | None, password: str | None = None) -> User:
    if email is not None:
        email = normalise_email(email)
        taken = await tx.session.scalar(select(User.id).where(func.lower(User.email) == email))
        if taken is not None:
            raise Conflict("an account with this email already exists", field="email")
    if password is not None:
        check_new_password(password)
    user = User(name=name, email=email, password_hash=await hash_password(password) if password else None)
    tx.session.add(user)
    await tx.session.flush()
    return user


async def do_update_user(tx: Transaction, user_id: int, *, name: str | None = None, locale: str | None = None) -> User:
    """The account's own name (each organisation keeps its own listing name on the membership) and language."""
    user = await tx.session.get(User, user_id)
    if name is not None:
        user.name = name
    if locale is not None:
        user.locale = locale
    await tx.session.flush()
    return user
