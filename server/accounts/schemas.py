"""Request and response bodies of the accounts API."""
from __future__ import annotations


from pydantic import Field

from server.api import Model, Out


class LoginIn(Model):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    totp_code: str | None = Field(None, max_length=10)
    device_name: str = Field("", max_length=200)


class UserOut(Out):
    id: int
    name: str
    email: str | None
    kind: str
    totp_enabled: bool


class LoginOut(Out):
    token: str
    session_id: int
    user: UserOut


