"""The units of the organisation by external id, kept for one import run: how rows name their units."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from server.db import Database
from server.orgs.models import Department
from schools.models import SchoolUnit


@dataclass
class UnitInfo:
    id: int  # the department's
    kind: str
    path: str
    level: int | None
    parent_id: int | None
    name: str
    archived: bool
    external_id: str | None


class UnitIndex:
    def __init__(self) -> None:
        self.by_external: dict[str, UnitInfo] = {}
        self.by_id: dict[int, UnitInfo] = {}
        self.bureau: UnitInfo | None = None

    def add(self, info: UnitInfo) -> None:
        self.by_id[info.id] = info
        if info.external_id is not None:
            self.by_external[info.external_id] = info
        if info.kind == "bureau":
            self.bureau = info

    def school_of(self, info: UnitInfo) -> int | None:
        """The id of the school ``info`` is in (itself, for a school)."""
        for part in info.path.strip("/").split("/"):
            found = self.by_id.get(int(part))
            if found is not None and found.kind == "school":
                return found.id
        return None

    @classmethod
    async def load(cls, db: Database, org_id: int) -> "UnitIndex":
        index = cls()
        async with db.transaction(org_id=org_id) as tx:
            rows = await tx.session.execute(
                select(SchoolUnit, Department).join(Department, Department.id == SchoolUnit.department_id)
            )
            for unit, department in rows:
                index.add(UnitInfo(department.id, unit.kind, department.path, unit.level, department.parent_id, department.name,
                                   unit.archived_at is not None, unit.external_id))
        return index
