"""What each person and organisation wants sent: quiet hours, mentions from muted groups, the SMS digest.

The server applies these when it decides to push (server/groups/notifying.py),
so a muted group or a quiet night holds whatever page or device the person
uses. Quiet hours are read in the organisation's time zone (organisations.time_zone).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select

from server.channels.models import NotificationSettings, OrgNotificationSettings, PushSubscription
from server.channels.schemas import NotificationSettingsIn
from server.db import Transaction, utcnow
from server.db.upsert import insert_for
from server.errors import InvalidInput



@dataclass(frozen=True)
class Preferences:
    quiet_start_min: int | None = None
    quiet_end_min: int | None = None
    mentions_when_muted: bool = True

    def quiet_at(self, now: dt.datetime, zone: str) -> bool:
        """Whether ``now`` falls in the quiet hours, read in the time zone ``zone`` (a window past midnight when start > end)."""
        if self.quiet_start_min is None or self.quiet_end_min is None:
            return False
        local = now.astimezone(ZoneInfo(zone))
        minute = local.hour * 60 + local.minute
        start, end = self.quiet_start_min, self.quiet_end_min
        return start <= minute < end if start < end else minute >= start or minute < end

    def quiet_ends(self, now: dt.datetime, zone: str) -> dt.datetime:
        """When the quiet hours that ``now`` falls in end (UTC): the next time the clock of ``zone`` reads their end."""
        local = now.astimezone(ZoneInfo(zone))
        end = local.replace(hour=self.quiet_end_min // 60, minute=self.quiet_end_min % 60, second=0, microsecond=0)
        if end <= local:
            end += dt.timedelta(days=1)  # wall-clock arithmetic: a day later on the local clock, whatever the DST
        return end.astimezone(dt.UTC)


DEFAULTS = Preferences()


def clock_minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def clock_text(minutes: int | None) -> str | None:
    return None if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


def check_quiet_hours(start: str | None, end: str | None) -> None:
    if (start is None) != (end is None):
        raise InvalidInput("give both quiet_hours_start and quiet_hours_end, or null for both", field="quiet_hours_end" if end is None else "quiet_hours_start",
                           code="quiet_hours_incomplete")
    if start is not None and start == end:
        raise InvalidInput("quiet hours must end at another time than they start", field="quiet_hours_end", code="quiet_hours_empty")


async def preferences_of(tx: Transaction, user_ids: Collection[int]) -> dict[int, Preferences]:
    """The choices of those of ``user_ids`` who made any; the others have ``DEFAULTS``."""
    if not user_ids:
        return {}
    rows = await tx.session.execute(
        select(NotificationSettings.user_id, NotificationSettings.quiet_start_min, NotificationSettings.quiet_end_min,
               NotificationSettings.mentions_when_muted).where(NotificationSettings.user_id.in_(list(user_ids)))
    )
    return {r.user_id: Preferences(r.quiet_start_min, r.quiet_end_min, r.mentions_when_muted) for r in rows}


async def do_update_preferences(tx: Transaction, user_id: int, change: NotificationSettingsIn) -> Preferences:
    """Apply the fields given; the quiet hours are checked as a pair (both, or neither)."""
    current = (await preferences_of(tx, [user_id])).get(user_id, DEFAULTS)
    given = change.model_fields_set
    start, end = clock_text(current.quiet_start_min), clock_text(current.quiet_end_min)
    if "quiet_hours_start" in given or "quiet_hours_end" in given:
        start = change.quiet_hours_start if "quiet_hours_start" in given else start
        end = change.quiet_hours_end if "quiet_hours_end" in given else end
        check_quiet_hours(start, end)
    muted = current.mentions_when_muted if change.mentions_when_muted is None else change.mentions_when_muted
    values = {"quiet_start_min": None if start is None else clock_minutes(start), "quiet_end_min": None if end is None else clock_minutes(end),
              "mentions_when_muted": muted, "updated_at": utcnow()}
    statement = insert_for(tx.dialect, NotificationSettings).values(user_id=user_id, **values)
    await tx.session.execute(statement.on_conflict_do_update(index_elements=["user_id"], set_=values))
    return Preferences(values["quiet_start_min"], values["quiet_end_min"], muted)


async def has_push(tx: Transaction, user_id: int) -> bool:
    return await tx.session.scalar(select(PushSubscription.id).where(PushSubscription.user_id == user_id).limit(1)) is not None


async def sms_digest_orgs(tx: Transaction, org_ids: Collection[int]) -> set[int]:
    """Those of ``org_ids`` that chose the SMS digest."""
    if not org_ids:
        return set()
    return set(await tx.session.scalars(
        select(OrgNotificationSettings.org_id).where(OrgNotificationSettings.org_id.in_(list(org_ids)), OrgNotificationSettings.sms_digest)
    ))


async def do_set_sms_digest(tx: Transaction, org_id: int, on: bool) -> bool:
    """Turn the organisation's SMS digest on or off; returns whether it changed."""
    if (org_id in await sms_digest_orgs(tx, [org_id])) == on:
        return False
    values = {"sms_digest": on, "updated_at": utcnow()}
    statement = insert_for(tx.dialect, OrgNotificationSettings).values(org_id=org_id, **values)
    await tx.session.execute(statement.on_conflict_do_update(index_elements=["org_id"], set_=values))
    return True
