"""Storage: one way to get a database session, and tenant isolation in one place.

``Database.transaction(org_id=...)`` is the only way code reaches the database.
A transaction opened for an organisation can only see and write rows of that
organisation: every ORM SELECT, UPDATE and DELETE of an ``OrgScoped`` model gets
``org_id = :org_id`` added by ``_scope_to_org`` below, and a flush refuses an
``OrgScoped`` row of another organisation. Routes never filter by org by hand,
so forgetting to cannot leak another organisation's data.

Events for devices are queued with ``tx.publish(channel, payload)`` and go out
on the bus only once the commit succeeded; other post-commit work uses
``tx.after_commit``.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Integer, MetaData, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.sql import Executable
from sqlalchemy.orm import DeclarativeBase, Mapped, ORMExecuteState, Session, mapped_column, with_loader_criteria
from sqlalchemy.types import TypeDecorator

from server.db import unavailable

if TYPE_CHECKING:
    from server.bus import Bus

log = logging.getLogger(__name__)

# Integer primary keys: BIGINT identity on PostgreSQL, the rowid alias on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")
JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both backends (SQLite keeps naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use server.db.utcnow()")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class OrgScoped:
    """Mixin for rows that belong to one organisation; see the module docstring."""

    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)


class CrossOrgWrite(Exception):
    """A programming error: a transaction scoped to one org tried to write another's row."""


@event.listens_for(Session, "do_orm_execute")
def _scope_to_org(state: ORMExecuteState) -> None:
    """Core statements on tables (no ORM entity in them) get nothing: the criteria would not apply to them anyway, and
    building it is a good part of a short request's CPU. They name their organisation themselves."""
    org_id = state.session.info.get("org_id")
    if org_id is None or not state.is_orm_statement or state.is_column_load or state.is_relationship_load:
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(_org_criteria(org_id))


@functools.lru_cache(maxsize=256)
def _org_criteria(org_id: int):
    """The scoping option of one organisation, built once (an option is immutable; building it analyses the lambda)."""
    return with_loader_criteria(OrgScoped, lambda cls: cls.org_id == org_id, include_aliases=True)


@event.listens_for(Session, "before_flush")
def _refuse_cross_org_rows(session: Session, _ctx, _instances) -> None:
    org_id = session.info.get("org_id")
    if org_id is None:
        return
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, OrgScoped):
            if obj.org_id is None:
                obj.org_id = org_id
            elif obj.org_id != org_id:
                raise CrossOrgWrite(f"{type(obj).__name__} of org {obj.org_id} written in a transaction of org {org_id}")


class Transaction:
    """An open unit of work: ``session`` for queries; ``publish`` and ``after_commit`` for what follows it."""

    def __init__(self, db: "Database", session: AsyncSession, org_id: int | None):
        self.db = db
        self.session = session
        self.org_id = org_id
        self._after_commit: list[Callable[[], Awaitable[None]]] = []
        self._connection: AsyncConnection | None = None

    async def run(self, statement: Executable, params: dict | None = None) -> Result:
        """Run a Core statement on the transaction's connection, past the ORM session's per-statement work (the hot paths'
        statements, built once with parameters). Nothing scopes it: it names its organisation itself."""
        if self._connection is None:
            self._connection = await self.session.connection()
        return await self._connection.execute(statement, params)

    @property
    def dialect(self) -> str:
        return self.db.dialect

    def after_commit(self, action: Callable[[], Awaitable[None]]) -> None:
        self._after_commit.append(action)

    def publish(self, channel: str, payload: bytes) -> None:
        """Publish on the bus once this transaction has committed (never if it rolls back)."""
        bus = self.db.bus
        if bus is not None:
            self._after_commit.append(lambda: bus.publish(channel, payload))


class Database:
    def __init__(self, url: str, *, bus: "Bus | None" = None, echo: bool = False, pool_size: int = 20):
        self.url = url
        self.bus = bus
        self.dialect = url.split(":", 1)[0].split("+", 1)[0]
        kwargs: dict = {"echo": echo}
        if self.dialect == "postgresql":
            kwargs |= {"pool_size": pool_size, "max_overflow": pool_size, "pool_timeout": unavailable.POOL_TIMEOUT_S,
                       "connect_args": {"timeout": unavailable.CONNECT_TIMEOUT_S}}
        else:
            kwargs |= {"connect_args": {"timeout": 30}}
        self.engine = create_async_engine(url, **kwargs)
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            event.listen(self.engine.sync_engine.pool, "checkin", _note_idle)
            event.listen(self.engine.sync_engine.pool, "checkout", _ping_if_idle)
            unavailable.watch(self.engine.sync_engine)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Hot routes (thousands of requests a second: form submissions, server/api.py's ``one_transaction``) hold at most
        # half of the pool at once: others (a dashboard, a page) find a connection at once instead of queueing behind them,
        # the event loop is not shared among more of them than the database can serve, and they never reach the overflow
        # (an overflow connection is closed when it comes back to a full pool: under a steady load that was a connection,
        # and a PostgreSQL backend, made per request).
        self.hot_slots = asyncio.Semaphore(max(1, pool_size // 2))

    @contextlib.asynccontextmanager
    async def transaction(self, *, org_id: int | None = None) -> AsyncIterator[Transaction]:
        """Open a transaction; commit on success, roll back on error, then run after-commit actions.

        Raises ``server.errors.Unavailable`` when PostgreSQL cannot be reached (server/db/unavailable.py)."""
        try:
            async with self._sessions() as session:
                session.info["org_id"] = org_id
                tx = Transaction(self, session, org_id)
                async with session.begin():
                    yield tx
        except PoolTimeout as e:
            raise unavailable.database_unavailable() from e
        for action in tx._after_commit:
            try:
                await action()
            except ConnectionError as e:  # the bus is down: devices catch up from the database when it is back (server/bus.py)
                log.warning("after-commit action failed: %s", e)
            except Exception:  # the data is committed; a failed notification must not turn into a 500
                log.exception("after-commit action failed")

    async def close(self) -> None:
        await self.engine.dispose()


IDLE_PING_S = 10.0
"""A pooled connection idle longer than this is pinged before use; a busy one is not (a round trip per checkout was a
good part of a short request's cost). One that died while busy fails its statement: SQLAlchemy then takes it and every
connection checked out before it out of the pool (its disconnect handling), so the next checkouts connect afresh."""


def _note_idle(_dbapi_conn, record) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_conn, record, _proxy) -> None:
    """What ``pool_pre_ping`` does, for connections that sat idle: a dead one is replaced before anyone uses it."""
    if time.monotonic() - record.info.get("idle_since", float("inf")) <= IDLE_PING_S:
        return
    try:
        dbapi_conn.ping()
    except Exception as e:
        raise DisconnectionError(f"pooled connection idle for more than {IDLE_PING_S:g} s is gone: {e}") from e


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
