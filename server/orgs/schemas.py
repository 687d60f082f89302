"""Request and response bodies of the organisations API."""
from __future__ import annotations

from pydantic import Field

from server.api import Model, Out


class OrgIn(Model):
    name: str = Field(min_length=1, max_length=200)
    slug: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")


class OrgOut(Out):
    id: int
    name: str
    slug: str


class MyOrgOut(OrgOut):
    role: str
