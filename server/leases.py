"""Jobs that one node at a time runs (pruning old rows): a lease per job name, held until a time.

Every node may try to take a job's lease; one conditional upsert gives it to
the caller if nobody holds it, its holder's time ran out, or the caller holds
it already (a renewal). So of several nodes exactly one runs the job, and a
node that dies mid-job hands it over when its lease runs out. The holder
renews while it works and releases it when done, so the job is not stuck for
the rest of the lease after a clean stop.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import String, delete
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, Database, UTCDateTime, utcnow
from server.db.upsert import insert_for


class JobLease(Base):
    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    until: Mapped[dt.datetime] = mapped_column(UTCDateTime)


async def do_take_lease(db: Database, name: str, holder: str, seconds: float) -> bool:
    """Take or renew the lease on job ``name`` for ``seconds``; whether ``holder`` has it now."""
    now = utcnow()
    table = JobLease.__table__
    statement = insert_for(db.dialect, table).values(name=name, holder=holder, until=now + dt.timedelta(seconds=seconds))
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.name],
        set_={"holder": statement.excluded.holder, "until": statement.excluded.until},
        where=(table.c.until < now) | (table.c.holder == holder),
    ).returning(table.c.holder)
    async with db.transaction() as tx:
        return (await tx.session.execute(statement)).first() is not None


async def do_release_lease(db: Database, name: str, holder: str) -> None:
    async with db.transaction() as tx:
        await tx.session.execute(delete(JobLease).where(JobLease.name == name, JobLease.holder == holder))
