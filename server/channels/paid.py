"""Paid channels (SMS, calls): daily allowances per organisation, per destination number, per client address.

Every SMS and call costs the operator money, and a number that someone typed
in is the classic target of SMS pumping. So whatever may send them reserves,
in the transaction that commits to sending, the most it could ever send:
``do_reserve_paid`` adds it to the day's counters (``paid_usage``) and,
if any counter passes the operator's limit, raises ``PaidLimitExceeded``, so
the transaction rolls back and nothing is sent or stored. Reservations on
any node see each other: the upsert locks the counter rows until commit
(PostgreSQL; SQLite has one writer), and the check reads them after it. The
rows are locked in one order (sorted keys), so two reservations cannot
deadlock.

What was reserved is never given back (a recipient who confirms early still
counts): a broadcast accepted up front is honoured in full, never cut off
halfway. Sending a broadcast reserves for its organisation and its numbers;
sending a sign-in code to a number typed in (server/accounts/phone_codes.py)
reserves for the organisation, the number and the client's address. A code
asked for a number nobody in the organisation has is not sent, yet it must be
answered alike (or the answer tells who is there): it reserves with
``spend=False``, which charges the address only and refuses exactly as a real
send would.

Cost: nothing for a send without SMS or calls; otherwise one upsert and one
SELECT per 5,000 numbers on SQLite, one of each in all on PostgreSQL.

The counters of days before yesterday are pruned by the retention job
(``counters_pruning``, registered in server/channels/routes.py).
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping

from prometheus_client import Counter
from sqlalchemy import Integer, String, bindparam, func, select
from sqlalchemy.dialects import postgresql

from server.channels.config import ChannelSettings
from server.channels.models import PaidUsage
from server.db import Transaction, utcnow
from server.db.one_of import chunks, one_of
from server.db.upsert import insert_for
from server.errors import RateLimited
from server.i18n import _
from server.retention.registry import Pruning, aged_rows

log = logging.getLogger("muster.notify")
PAID_REFUSED = Counter("muster_notify_paid_refused_total", "Sends refused because SMS or calls would pass a daily limit",
                       ["channel", "scope"])

SETTING = {"sms": "sms", "call": "calls"}


class PaidLimitExceeded(RateLimited):
    """A send would pass a daily allowance of SMS or calls; it was refused whole, before anything went out."""

    code = "paid_limit_exceeded"

    def __init__(self, message: str, *, channel: str, scope: str, retry_after_s: int, **params):
        super().__init__(message, retry_after_s=retry_after_s, **params)
        self.channel = channel
        self.scope = scope


def limit_of(settings: ChannelSettings, channel: str, scope: str) -> int:
    return getattr(settings, f"{SETTING[channel]}_per_{scope}_per_day")


def next_reset(now: dt.datetime) -> dt.datetime:
    """When the day's counters start again: the next midnight, UTC."""
    return dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), dt.timezone.utc)


async def used_today(tx: Transaction, org_id: int) -> dict[str, int]:
    """What the organisation reserved today (UTC), by channel (``sms``, ``call``); a channel it did not use is absent."""
    rows = await tx.session.execute(select(PaidUsage.channel, PaidUsage.used).where(
        PaidUsage.day == utcnow().date(), PaidUsage.scope == "org", PaidUsage.key == str(org_id)
    ))
    return {channel: used for channel, used in rows}


async def do_reserve_paid(
    tx: Transaction, settings: ChannelSettings, channel: str, *, org_id: int, per_number: Mapping[str, int], address: str | None = None,
    spend: bool = True,
) -> None:
    """Reserve ``per_number`` messages of ``channel`` (number → how many) for today, or refuse them all.

    ``org_id`` and ``address`` are charged the total. Raises ``PaidLimitExceeded``
    (and logs and counts it for the operator, without the numbers) if any
    allowance would be passed; the caller's transaction must then roll back.
    ``spend=False``: nothing will be sent; only the address is charged, the
    other allowances are checked as if they were.
    """
    total = sum(per_number.values())
    if total == 0:
        return
    wanted = {("org", str(org_id)): total, **{("number", number): n for number, n in per_number.items() if n}}
    if address is not None:
        wanted[("address", address)] = total
    charged = wanted if spend else {key: n for key, n in wanted.items() if key[0] == "address"}
    today = utcnow().date()
    await _add(tx, today, channel, sorted(charged.items()))
    uncharged = {key: n for key, n in wanted.items() if key not in charged}
    over = await _over_limit(tx, settings, today, channel, list(wanted), uncharged)
    if over:
        refusal = _refusal(settings, channel, over, wanted, total)
        PAID_REFUSED.labels(channel, refusal.scope).inc()
        log.warning("paid channel limit refused a send", extra={"fields": {
            "event": "paid_limit_exceeded", "org_id": org_id, "channel": channel, "scope": refusal.scope, "wanted": total,
            "numbers_over": sum(1 for scope, _ in over if scope == "number"), "limit": limit_of(settings, channel, refusal.scope),
        }})
        raise refusal


async def _add(tx: Transaction, day: dt.date, channel: str, rows: list[tuple[tuple[str, str], int]]) -> None:
    """used += n for each (scope, key), inserting rows that are missing, in the order given."""
    if not rows:
        return
    table = PaidUsage.__table__
    if tx.dialect == "postgresql":
        listed = func.unnest(
            bindparam("scopes", [scope for (scope, _), _ in rows], type_=postgresql.ARRAY(String)),
            bindparam("keys", [key for (_, key), _ in rows], type_=postgresql.ARRAY(String)),
            bindparam("counts", [n for _, n in rows], type_=postgresql.ARRAY(Integer)),
        ).table_valued("scope", "key", "n", with_ordinality="position").render_derived()
        source = select(bindparam("day", day, type_=table.c.day.type), bindparam("channel", channel, type_=table.c.channel.type),
                        listed.c.scope, listed.c.key, listed.c.n).order_by(listed.c.position)
        statement = postgresql.insert(table).from_select(["day", "channel", "scope", "key", "used"], source)
        await tx.session.execute(statement.on_conflict_do_update(
            index_elements=["day", "channel", "scope", "key"], set_={"used": table.c.used + statement.excluded.used}
        ))
        return
    statement = insert_for(tx.dialect, table)
    statement = statement.on_conflict_do_update(index_elements=["day", "channel", "scope", "key"],
                                                set_={"used": table.c.used + statement.excluded.used})
    for chunk in chunks(rows):
        await tx.session.execute(statement, [
            {"day": day, "channel": channel, "scope": scope, "key": key, "used": n} for (scope, key), n in chunk
        ])


async def _over_limit(tx: Transaction, settings: ChannelSettings, day: dt.date, channel: str,
                      keys: list[tuple[str, str]], uncharged: Mapping[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """(scope, key) → used (with what is ``uncharged`` counted as if it were), for the counters among ``keys`` past their limit."""
    by_scope: dict[str, list[str]] = {}
    for scope, key in keys:
        by_scope.setdefault(scope, []).append(key)
    over: dict[tuple[str, str], int] = {}
    for scope, scope_keys in by_scope.items():
        limit = limit_of(settings, channel, scope)
        pending = max((uncharged.get((scope, key), 0) for key in scope_keys), default=0)
        for chosen in one_of(tx, PaidUsage.key, scope_keys):
            rows = await tx.session.execute(select(PaidUsage.key, PaidUsage.used).where(
                PaidUsage.day == day, PaidUsage.channel == channel, PaidUsage.scope == scope, chosen, PaidUsage.used > limit - pending,
            ))
            over.update({(scope, row.key): row.used for row in rows})
        for key in scope_keys:
            if uncharged.get((scope, key), 0) > limit:  # a limit of 0, and no counter yet
                over.setdefault((scope, key), 0)
    return {key: used + uncharged.get(key, 0) for key, used in over.items() if used + uncharged.get(key, 0) > limit_of(settings, channel, key[0])}


# The refusals, one text per channel so that each reads naturally in every language: (channel, scope) → msgid.
REFUSALS = {
    ("sms", "org"): _("this could send up to {total} SMS, but the organisation has {left} of its {limit} SMS a day left: "
                      "send fewer repeats or no SMS, wait until tomorrow (UTC), or ask the server's operator to raise {setting}"),
    ("call", "org"): _("this could send up to {total} calls, but the organisation has {left} of its {limit} calls a day left: "
                       "send fewer repeats or no calls, wait until tomorrow (UTC), or ask the server's operator to raise {setting}"),
    ("sms", "number"): _("{numbers} of the recipients' phone numbers would get more than {limit} SMS today: "
                         "send fewer repeats or no SMS, or ask the server's operator to raise {setting}"),
    ("call", "number"): _("{numbers} of the recipients' phone numbers would get more than {limit} calls today: "
                          "send fewer repeats or no calls, or ask the server's operator to raise {setting}"),
    ("sms", "address"): _("this address has used its {limit} SMS for today; try again tomorrow (UTC)"),
    ("call", "address"): _("this address has used its {limit} calls for today; try again tomorrow (UTC)"),
}


def _refusal(settings: ChannelSettings, channel: str, over: dict[tuple[str, str], int], wanted: dict[tuple[str, str], int],
             total: int) -> PaidLimitExceeded:
    """The error the sender sees: which allowance, how much this needed and how much was left (no phone numbers)."""
    now = utcnow()
    retry_after_s = int((next_reset(now) - now).total_seconds()) + 1

    def refused(scope: str, **params) -> PaidLimitExceeded:
        limit = limit_of(settings, channel, scope)
        setting = f"MUSTER_NOTIFY_{SETTING[channel].upper()}_PER_{scope.upper()}_PER_DAY"
        return PaidLimitExceeded(REFUSALS[(channel, scope)], channel=channel, scope=scope, retry_after_s=retry_after_s,
                                 limit=limit, setting=setting, **params)

    for (scope, key), used in over.items():
        if scope == "org":
            left = max(limit_of(settings, channel, "org") - (used - wanted[(scope, key)]), 0)
            return refused("org", total=total, left=left)
    numbers = sum(1 for scope, _key in over if scope == "number")
    if numbers:
        return refused("number", numbers=numbers)
    return refused("address")


def counters_pruning(batch: int) -> Pruning:
    """The counters of days before yesterday (today's and yesterday's are read: a day is UTC, a limit's reset is near)."""
    return aged_rows("daily counters of SMS and calls", PaidUsage.day, dt.timedelta(days=1), batch=batch)
