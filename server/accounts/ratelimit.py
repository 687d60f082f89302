"""The rate limit on guessing secrets: passwords, TOTP codes and one-time codes sent by SMS.

Each failed attempt stores two ``LoginFailure`` rows, one keyed by the account
(``account:<email>``, or ``account:phone:<E.164>`` for a code sent by SMS; also
for ones that have no account, so the answer never reveals whether one exists)
and one by the caller's address (``addr:<ip>``, an IPv6 address by its /64).
An account may fail ``login_max_failures`` times, an address four times that,
within ``login_window_s``. The check runs BEFORE the secret is verified, so a
locked account answers 429 whether the guess is right or wrong and cannot be
brute-forced through the lock.

Cost: the check is one indexed query per key, ``ORDER BY at DESC LIMIT 1
OFFSET limit-1`` on ``(key, at)``: it reads at most ``limit`` index entries and
its answer is also the time the lock lifts (when that row leaves the window).
Recording a failure inserts two rows and deletes rows older than the window
through the ``(at)`` index, so the table holds one window's worth of failures.

Two attempts racing past the check may both be verified; the limit can be
overshot by the number of concurrent attempts, never more.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import math
from dataclasses import dataclass
from typing import NoReturn

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import InstrumentedAttribute

from server.accounts.models import LoginFailure
from server.config import Settings
from server.db import Database, Transaction, utcnow
from server.errors import MusterError, RateLimited
from server.i18n import _

ADDRESS_FACTOR = 4


@dataclass(frozen=True)
class Attempt:
    """Who is guessing: the account they aim at (an email, or ``phone:<E.164>``) and the address they come from."""

    account: str
    ip: str

    @property
    def account_key(self) -> str:
        return f"account:{self.account.strip().lower()}"[:400]

    @property
    def address_key(self) -> str:
        return f"addr:{client_network(self.ip)}"[:400]


def client_network(ip: str) -> str:
    """What one client's address counts as: an IPv4 address, or the /64 of an IPv6 one (one subscriber's whole
    network: their devices, and the addresses anyone can rotate through within it)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip[:64]
    if address.version == 4:
        return str(address)
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.ip_network(f"{address}/64", strict=False))


async def check_attempt_allowed(tx: Transaction, settings: Settings, attempt: Attempt) -> None:
    """Raise ``RateLimited`` (429, with Retry-After) if the account or the address used up its failures."""
    now = utcnow()
    limits = (
        (attempt.account_key, settings.login_max_failures, _("this account")),
        (attempt.address_key, settings.login_max_failures * ADDRESS_FACTOR, _("your address")),
    )
    for key, limit, whose in limits:
        retry_after_s = await seconds_until_below(tx, LoginFailure.at, LoginFailure.key == key, limit, settings.login_window_s, now)
        if retry_after_s is not None:
            raise RateLimited(
                "too many failed sign-in attempts for {whose}; try again in {seconds} seconds",
                retry_after_s=retry_after_s, whose=whose, seconds=retry_after_s,
            )


async def seconds_until_below(
    tx: Transaction, at: InstrumentedAttribute, which: ColumnElement[bool], limit: int, window_s: int, now: dt.datetime
) -> int | None:
    """None if fewer than ``limit`` rows matching ``which`` have ``at`` within the last ``window_s``; else the seconds
    until one of them leaves the window. Reads at most ``limit`` entries of an index on (key, at)."""
    oldest_that_counts = await tx.session.scalar(
        select(at).where(which, at > now - dt.timedelta(seconds=window_s)).order_by(at.desc()).limit(1).offset(limit - 1)
    )
    if oldest_that_counts is None:
        return None
    lifts_at = oldest_that_counts + dt.timedelta(seconds=window_s)
    return max(1, math.ceil((lifts_at - now).total_seconds()))


async def do_record_failure(tx: Transaction, settings: Settings, attempt: Attempt) -> None:
    """Count one failed attempt against the account and the address; drop failures older than the window."""
    now = utcnow()
    tx.session.add_all([LoginFailure(key=attempt.account_key, at=now), LoginFailure(key=attempt.address_key, at=now)])
    await tx.session.execute(
        delete(LoginFailure).where(LoginFailure.at <= now - dt.timedelta(seconds=settings.login_window_s))
    )
    await tx.session.flush()


async def do_clear_account_failures(tx: Transaction, attempt: Attempt) -> None:
    """After a successful sign-in the account starts afresh (the address keeps its count)."""
    await tx.session.execute(delete(LoginFailure).where(LoginFailure.key == attempt.account_key))


async def refuse(db: Database, settings: Settings, attempt: Attempt, error: MusterError) -> NoReturn:
    """Count a failed attempt in its own transaction (the caller's rolls back with the error), then raise it."""
    async with db.transaction() as tx:
        await do_record_failure(tx, settings, attempt)
    raise error
