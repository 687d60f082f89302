"""The audience as requests name it, and the preview's answer."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from server.api import Id, Model, Out
from server.audiences.expand import Audience
from server.audiences.kinds import audience_kind
from server.i18n.validation import InvalidValue

MAX_IDS = 20_000
MAX_PART_IDS = 1000
PartIds = Annotated[list[Id], Field(max_length=MAX_PART_IDS)]


class AudienceIn(Model):
    """Who to reach; the parts combine, each person counted once. ``everyone`` means every member of the organisation."""

    user_ids: list[Id] = Field(default_factory=list, max_length=MAX_IDS, description="Members, by user id.")
    department_ids: list[Id] = Field(default_factory=list, max_length=MAX_PART_IDS, description="Departments, each with all its sub-departments.")
    group_ids: list[Id] = Field(default_factory=list, max_length=MAX_PART_IDS, description="Groups: their members who are in this organisation.")
    parts: dict[str, PartIds] = Field(
        default_factory=dict, max_length=20,
        description="Ids of kinds capabilities add (e.g. a school's units), by kind: {kind: [ids]}; each list at most 1,000.",
    )
    everyone: bool = False

    @field_validator("parts")
    @classmethod
    def _registered(cls, parts: dict[str, list[int]]) -> dict[str, list[int]]:
        for kind in parts:
            if audience_kind(kind) is None:
                raise InvalidValue("no such kind of audience: {kind}", kind=kind)
        return parts

    def names_anyone(self) -> bool:
        return self.everyone or any((self.user_ids, self.department_ids, self.group_ids, *self.parts.values()))

    def audience(self) -> Audience:
        parts = {"users": self.user_ids, "departments": self.department_ids, "groups": self.group_ids}
        for name, ids in self.parts.items():
            parts[name] = [*parts.get(name, []), *ids]
        return Audience(parts, self.everyone)


class AudiencePartOut(Out):
    kind: str
    named: int = Field(description="How many distinct ids of this kind the request named.")
    unknown: list[int] = Field(description="Those that name nothing of this kind in the organisation.")
    people: int = Field(description="People the others cover: members, and outsiders for kinds that reach them (a person may be in several parts).")


class AudiencePreviewOut(Out):
    everyone: bool
    total: int = Field(description="Distinct people the audience reaches.")
    parts: list[AudiencePartOut]
