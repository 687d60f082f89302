"""Creating accounts. People normally arrive through an organisation (import, admin, demo)."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from server.accounts.login import normalise_email
from server.accounts.models import User
from server.accounts.passwords import check_new_password, hash_password
from server.db import Transaction, utcnow
from server.db.upsert import insert_rows
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


async def do_create_accounts(tx: Transaction, names: Sequence[str], emails: Sequence[str | None] | None = None) -> list[int]:
    """Accounts without a password (people sign in after a reset, an invite or by phone), one INSERT for all;
    their ids in the order of ``names``. For imports: ``emails`` must be normalised and free already.

    The ids come back sorted, matching the rows' order: a sequence hands out
    increasing ids and the rows are inserted in order (what SQLAlchemy's own
    ``sort_by_parameter_order`` relies on too).
    """
    if not names:
        return []
    table = User.__table__
    constants = {"kind": "person", "password_hash": None, "totp_enabled": False, "created_at": utcnow()}
    columns = {"name": list(names), "email": list(emails) if emails is not None else [None] * len(names)}
    statement, parameters = insert_rows(tx, table, columns, constants)
    return sorted((await tx.session.scalars(statement.returning(table.c.id), parameters)).all())
