"""Optional two-factor sign-in with TOTP (RFC 6238: 6 digits, 30-second steps).

Enrolment is two steps so nobody locks themselves out: ``do_begin_totp``
stores a fresh secret with TOTP still off and hands back the secret, its
``otpauth://`` URI and a QR code; ``do_confirm_totp`` switches it on once the
authenticator app has produced a valid code.

A code is accepted for the current step and one step either side (clock drift),
and each step is accepted at most once per account: ``users.totp_last_step``
holds the last step used, and it only moves forward through a conditional
UPDATE, so two requests racing with the same observed code cannot both pass.
"""
from __future__ import annotations

import hmac
import io
import time
from dataclasses import dataclass

import pyotp
import segno
from sqlalchemy import or_, update
from sqlalchemy.orm.attributes import set_committed_value

from server.accounts.models import User
from server.db import Transaction
from server.errors import Conflict, InvalidInput

ISSUER = "Muster"
STEP_S = 30
DRIFT_STEPS = 1


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    otpauth_uri: str
    qr_svg: str


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step (within ±1 of now) whose code is ``code``, or None."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_S)
    current = int((time.time() if now is None else now) // STEP_S)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_S), code):
            return step
    return None


async def do_use_totp_code(tx: Transaction, user: User, code: str | None) -> bool:
    """Accept ``code`` for ``user`` once: True if it is valid and its step was not used before."""
    if not code or user.totp_secret is None:
        return False
    step = matching_step(user.totp_secret, code)
    if step is None:
        return False
    result = await tx.session.execute(
        update(User)
        .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    set_committed_value(user, "totp_last_step", step)  # already written by the UPDATE above
    return True


async def do_begin_totp(tx: Transaction, user: User) -> TotpEnrolment:
    """Store a new secret, not yet enabled; starting again replaces an unconfirmed one."""
    if user.totp_enabled:
        raise Conflict("two-factor sign-in is already on; turn it off first to enrol a new device")
    secret = pyotp.random_base32()
    user.totp_secret = secret
    user.totp_last_step = None
    await tx.session.flush()
    uri = pyotp.TOTP(secret, interval=STEP_S).provisioning_uri(name=user.email or user.name, issuer_name=ISSUER)
    return TotpEnrolment(secret=secret, otpauth_uri=uri, qr_svg=qr_svg(uri))


def qr_svg(text: str) -> str:
    """A standalone SVG document (with its namespace, so it also works as a ``data:`` image)."""
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", xmldecl=False, scale=4)
    return out.getvalue().decode()


async def do_confirm_totp(tx: Transaction, user: User, code: str) -> None:
    if user.totp_enabled:
        raise Conflict("two-factor sign-in is already on")
    if user.totp_secret is None:
        raise Conflict("start enrolment first with POST /api/v1/me/totp")
    if not await do_use_totp_code(tx, user, code):
        raise InvalidInput("this code does not match; check the authenticator app and the device's clock", field="code", code="bad_totp")
    user.totp_enabled = True
    await tx.session.flush()


async def do_disable_totp(tx: Transaction, user: User) -> None:
    """Turn TOTP off and forget the secret. The caller has already proven who they are."""
    user.totp_enabled = False
    user.totp_secret = None
    user.totp_last_step = None
    await tx.session.flush()
