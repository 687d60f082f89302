"""Request and response bodies of the personal data API."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from server.api import Model, Out


class ErasureIn(Model):
    confirm: Literal[True] = Field(description="Must be true: erasure cannot be undone.")


class ErasureOut(Out):
    member_id: int
    account_deleted: bool = Field(description="True when the person belonged to no other organisation and their account went too.")
    erased: dict[str, dict[str, int]] = Field(description="What each part erased, counted.")


class PersonalDataOut(Out):
    member_id: int
    user_id: int
    parts: dict[str, dict | list] = Field(description="Each part's data: the membership, groups, files, and each capability's.")
