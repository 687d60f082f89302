"""When PostgreSQL cannot be reached: one error, ``Unavailable`` (503 with ``Retry-After``), never a 500 or a hang.

PostgreSQL restarted, crashed or out of connections shows up in four places,
all turned into ``server.errors.Unavailable`` here so that every caller (a
route, a WebSocket hello, a worker) sees one exception:

- opening a connection: refused, reset, or no answer within ``CONNECT_TIMEOUT_S``
  (an ``OSError`` from the driver, which SQLAlchemy passes on unwrapped): the
  ``do_connect`` hook;
- the server refusing a connection ("starting up", "shutting down", too many
  clients) or a connection lost under a statement or a commit: the
  ``handle_error`` hook. SQLAlchemy still invalidates the pool on a lost
  connection first, so every connection made before it is replaced: the pool
  recovers by itself once PostgreSQL is back;
- waiting longer than ``POOL_TIMEOUT_S`` for a pooled connection:
  ``Database.transaction`` (server/db/__init__.py).

A request that got ``Unavailable`` stored nothing unless its commit was under way
when the connection went; only an answer of 2xx says it was stored.
"""
from __future__ import annotations

import asyncio

from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext

from server.errors import Unavailable

CONNECT_TIMEOUT_S = 5.0
"""How long opening a connection may take (asyncpg's default is 60 s: a request would hang that long on a lost host)."""

POOL_TIMEOUT_S = 10.0
"""How long a transaction waits for a pooled connection before answering 503 (SQLAlchemy's default is 30 s)."""

RETRY_AFTER_S = 2

# SQLSTATEs that mean "not now" rather than "wrong": connection exceptions (class 08), admin/crash shutdown and
# "the database system is starting up" (57P01-57P03), too many connections (53300).
_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")


def database_unavailable() -> Unavailable:
    return Unavailable("the database cannot be reached; try again in a few seconds", retry_after_s=RETRY_AFTER_S)


def watch(engine: Engine) -> None:
    """Install both hooks on a PostgreSQL engine (the sync engine under the async one)."""
    event.listen(engine, "do_connect", _connect)
    event.listen(engine, "handle_error", _classify)


def _connect(dialect, _conn_rec, cargs, cparams):
    try:
        return dialect.connect(*cargs, **cparams)
    except OSError as e:  # refused, reset, unreachable, and TimeoutError (CONNECT_TIMEOUT_S)
        raise database_unavailable() from e


def _classify(context: ExceptionContext) -> Unavailable | None:
    if isinstance(context.original_exception, asyncio.CancelledError):
        return None  # a task being cancelled (a node stopping) must stay cancelled: SQLAlchemy calls that a disconnect too
    sqlstate = getattr(context.original_exception, "sqlstate", None) or ""
    if context.is_disconnect or sqlstate.startswith(_UNAVAILABLE_STATES):
        return database_unavailable()
    return None
