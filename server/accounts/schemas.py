"""Request and response bodies of the accounts API."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field

from server.accounts.passwords import MIN_LENGTH
from server.api import Id, Model, Out

MAX_INVITE_S = 90 * 24 * 3600


class SecondFactorIn(Model):
    """What every way of signing in sends besides its first factor: the device's name and, for an account with
    two-factor sign-in, the authenticator code or a remembered device's token."""

    totp_code: str | None = Field(None, max_length=10)
    device_name: str = Field("", max_length=200)
    trusted_device_token: str | None = Field(
        None, max_length=100, description="The token this browser got when it was remembered; stands in for totp_code (the first factor, a password or a code sent by SMS, is still needed)."
    )
    remember_device: bool = Field(False, description="With a correct totp_code: remember this browser, so it can sign in without a code next time.")


class LoginIn(SecondFactorIn):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(Out):
    id: int
    name: str
    email: str | None
    kind: str
    totp_enabled: bool
    locale: str | None


class LoginOut(Out):
    token: str
    session_id: int
    user: UserOut
    trusted_device_id: int | None = Field(description="The remembered device this sign-in used or just remembered.")
    trusted_device_token: str | None = Field(description="Only when remember_device took effect: keep it, it is shown once.")


class MePatchIn(Model):
    name: str | None = Field(None, min_length=1, max_length=200)
    locale: Literal["zh-CN", "en"] | None = Field(None, description="The language I read Muster in; it follows my browser until I choose.")


class DeviceOut(Out):
    id: int
    device_name: str
    user_agent: str
    ip: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    current: bool


class TrustedDeviceOut(Out):
    id: int
    device_name: str
    user_agent: str
    created_at: dt.datetime
    last_used_at: dt.datetime
    expires_at: dt.datetime


class NoticeOut(Out):
    id: int
    kind: str = Field(description="new_device: the account signed in on a device it had not used before (data: device_name, user_agent, ip, session_id).")
    data: dict
    created_at: dt.datetime


class NoticesReadIn(Model):
    up_to_id: Id = Field(description="The newest notice the person saw: it and older ones are marked read.")


class PasswordChangeIn(Model):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=MIN_LENGTH, max_length=1024)


class PasswordChangeOut(Out):
    revoked_session_ids: list[int]


class TotpEnrolmentOut(Out):
    secret: str
    otpauth_uri: str
    qr_svg: str


class TotpCodeIn(Model):
    code: str = Field(min_length=6, max_length=10)


class TotpBeginIn(Model):
    password: str = Field(min_length=1, max_length=1024)


class TotpDisableIn(Model):
    password: str = Field(min_length=1, max_length=1024)
    code: str | None = Field(None, min_length=6, max_length=10, description="A current code; required while two-factor sign-in is on.")


class GuestInviteIn(Model):
    scope_kind: str = Field(min_length=1, max_length=32)
    scope_id: int = Field(gt=0, lt=2**63)
    expires_in_s: int = Field(7 * 24 * 3600, ge=60, le=MAX_INVITE_S)
    max_uses: int | None = Field(None, ge=1, le=1_000_000)


class GuestInviteOut(Out):
    id: int
    token: str
    url: str
    expires_at: dt.datetime


class GuestSessionIn(Model):
    invite_token: str = Field(min_length=1, max_length=200)
    display_name: str = Field(min_length=1, max_length=100)


class GuestScopeOut(Out):
    org_id: int
    kind: str
    id: int


class GuestSessionOut(Out):
    token: str
    session_id: int
    user: UserOut
    scope: GuestScopeOut
    landing_url: str | None = Field(description="Path of the page of what the guest was invited to; null if it has none.")


class PhoneCodeIn(Model):
    phone: str = Field(min_length=3, max_length=64, description="The number as the person writes it; without +country code it is read in the server's default region.")
    org_slug: str | None = Field(None, min_length=1, max_length=64, description="The organisation to sign in to, by its address; or org_id.")
    org_id: Id | None = Field(None, description="The organisation to sign in to, by id; or org_slug.")


class PhoneCodeOut(Out):
    expires_in_s: int = Field(description="How long the code works, if one was sent: it is sent only if someone of the organisation has the number, and the answer is the same either way.")
    resend_in_s: int = Field(description="When a new code may be asked for the same number.")


class PhoneSignInIn(SecondFactorIn):
    phone: str = Field(min_length=3, max_length=64)
    code: str = Field(min_length=1, max_length=20, description="The code the SMS brought.")


class SignInLinkIn(Model):
    token: str = Field(min_length=1, max_length=200)


class LinkQuestionOut(Out):
    key: str = Field(description="The answer's key in ``answers``.")
    label: str
    hint: str = Field(description="An example answer; empty if none.")
    max_length: int
    required: bool


class SignInLinkOut(Out):
    org_name: str
    purpose: str = Field(description="What the link is for, in the reader's language (its capability says, e.g. a class to join).")
    asks_name: bool = Field(description="Whether signing in with it wants the person's name (it makes them an account).")
    questions: list[LinkQuestionOut] = Field(description="What else it asks (a guardian's relation to the child), in the reader's language.")


class LinkSignInIn(SecondFactorIn):
    token: str = Field(min_length=1, max_length=200)
    name: str | None = Field(None, min_length=1, max_length=200, description="The person's name, for a link that makes accounts (asks_name).")
    answers: dict[Annotated[str, Field(max_length=32)], Annotated[str, Field(max_length=200)]] = Field(
        default_factory=dict, max_length=8, description="Answers to the link's questions, by key.",
    )


class LinkSignInOut(LoginOut):
    landing_url: str | None = Field(description="Path of the page of what the link grants; null: the home page.")
