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


class OwnOrganisationOut(Out):
    org_id: int
    name: str
    relation: Literal["member", "external_contact"]
    parts: dict[str, dict | list]


class OwnDataOut(Out):
    account: dict = Field(description="The account: name, email, language, when it was made, whether two-factor sign-in is on.")
    organisations: list[OwnOrganisationOut] = Field(description="Each organisation the person is a member or an external contact of, with what it holds.")


class AccountDeletionIn(Model):
    password: str = Field(min_length=1, max_length=200, description="The account's password again: a session alone cannot delete it.")
    confirm: Literal[True] = Field(description="Must be true: deleting the account cannot be undone.")


class AccountDeletionOut(Out):
    organisations: list[int] = Field(description="The organisations whose external contact the person was: their data there was erased.")
