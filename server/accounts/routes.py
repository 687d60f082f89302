"""Accounts API: sign in (password, code sent by SMS, sign-in link) and out, who am I, my devices and remembered devices,
notices about my account, my password and second factor, guests."""
from __future__ import annotations

from aiohttp import web

from server.accounts.credentials import begin_totp, change_password, disable_totp
from server.accounts.devices import do_revoke_device, list_devices
from server.accounts.guests import do_create_invite, do_join_as_guest, do_revoke_invite, guest_landing, invite_url
from server.accounts.login import SignedIn, SignInClient, do_login
from server.accounts.models import User
from server.accounts.schemas import (
    DeviceOut,
    GuestInviteIn,
    GuestInviteOut,
    GuestScopeOut,
    GuestSessionIn,
    GuestSessionOut,
    LinkQuestionOut,
    LinkSignInIn,
    LinkSignInOut,
    LoginIn,
    LoginOut,
    MePatchIn,
    NoticeOut,
    NoticesReadIn,
    PasswordChangeIn,
    PasswordChangeOut,
    PhoneCodeIn,
    PhoneCodeOut,
    PhoneSignInIn,
    SecondFactorIn,
    SignInLinkIn,
    SignInLinkOut,
    TotpBeginIn,
    TotpCodeIn,
    TotpDisableIn,
    TotpEnrolmentOut,
    TrustedDeviceOut,
    UserOut,
)
from server.accounts.notices import do_mark_notices_read, list_unread_notices
from server.accounts.phone_sign_in import ask_for_code, do_phone_sign_in
from server.accounts.sign_in_links import do_revoke_sign_in_link, do_sign_in_by_link, preview_sign_in_link
from server.accounts.totp import do_confirm_totp
from server.accounts.trusted_devices import do_revoke_trusted_device, list_trusted_devices
from server.accounts.users import do_update_user
from server.api import endpoint, path_int
from server.appkeys import DB, PRINCIPAL, SETTINGS
from server.channels.registry import CHANNELS
from server.errors import InvalidInput
from server.i18n import request_locale, translate
from server.orgs.access import OrgContext

routes = web.RouteTableDef()


def client_ip(request: web.Request) -> str:
    return request.remote or ""


@routes.post("/api/v1/auth/login")
@endpoint(body=LoginIn, response=LoginOut, auth="none")
async def login(request: web.Request, body: LoginIn) -> LoginOut:
    """Sign in with email and password (and, if two-factor sign-in is on, a TOTP code or a remembered device's token); returns a bearer token for this device."""
    signed_in = await do_login(
        request.app[DB], request.app[SETTINGS], email=body.email, password=body.password, client=sign_in_client(request, body)
    )
    return login_out(signed_in)


def sign_in_client(request: web.Request, body: SecondFactorIn) -> SignInClient:
    return SignInClient(
        device_name=body.device_name, user_agent=request.headers.get("User-Agent", ""), ip=client_ip(request),
        totp_code=body.totp_code, trusted_device_token=body.trusted_device_token, remember_device=body.remember_device,
    )


def login_out(signed_in: SignedIn) -> LoginOut:
    return LoginOut(
        token=signed_in.token,
        session_id=signed_in.device.id,
        user=UserOut.model_validate(signed_in.user),
        trusted_device_id=signed_in.trusted_device.id if signed_in.trusted_device else None,
        trusted_device_token=signed_in.trusted_device_token,
    )


@routes.post("/api/v1/auth/phone/code")
@endpoint(body=PhoneCodeIn, response=PhoneCodeOut, status=202, auth="none")
async def ask_for_phone_code(request: web.Request, body: PhoneCodeIn) -> PhoneCodeOut:
    """Send a one-time sign-in code by SMS to a number of someone of the organisation (if it offers phone sign-in).

    The answer is the same whether or not anyone there has the number; asking is limited per number, per address
    and per organisation (429), and each SMS counts against the organisation's daily SMS allowance."""
    if body.org_slug is None and body.org_id is None:
        raise InvalidInput("say which organisation to sign in to: org_slug or org_id", field="org_slug")
    settings = request.app[SETTINGS]
    await ask_for_code(
        request.app[DB], settings, request.app[CHANNELS], phone=body.phone, slug=body.org_slug, org_id=body.org_id,
        ip=client_ip(request), locale=request_locale(request),
    )
    return PhoneCodeOut(expires_in_s=settings.phone_code_ttl_s, resend_in_s=settings.phone_code_resend_s)


@routes.post("/api/v1/auth/phone/sign-in")
@endpoint(body=PhoneSignInIn, response=LoginOut, auth="none")
async def sign_in_by_phone(request: web.Request, body: PhoneSignInIn) -> LoginOut:
    """Sign in with the phone number and the code the SMS brought (and, if two-factor sign-in is on, a TOTP code or a remembered device's token).

    401 ``bad_code`` for a wrong, expired or used code; 429 when the number or the address guessed too often."""
    signed_in = await do_phone_sign_in(
        request.app[DB], request.app[SETTINGS], phone=body.phone, code=body.code, client=sign_in_client(request, body)
    )
    return login_out(signed_in)


@routes.post("/api/v1/auth/link/preview")
@endpoint(body=SignInLinkIn, response=SignInLinkOut, auth="none")
async def preview_link(request: web.Request, body: SignInLinkIn) -> SignInLinkOut:
    """What a sign-in link is for (its organisation, its purpose, whether it asks a name and what else), before signing in with it."""
    locale = request_locale(request)
    preview = await preview_sign_in_link(request.app[DB], request.app[SETTINGS], token=body.token, ip=client_ip(request), locale=locale)
    questions = [
        LinkQuestionOut(key=q.key, label=translate(locale, q.label), hint=translate(locale, q.hint) if q.hint else "", max_length=q.max_length,
                        required=q.missing is not None)
        for q in preview.kind.questions
    ]
    return SignInLinkOut(org_name=preview.org.name, purpose=preview.purpose, asks_name=preview.kind.asks_name, questions=questions)


@routes.post("/api/v1/auth/link/sign-in")
@endpoint(body=LinkSignInIn, response=LinkSignInOut, auth="none")
async def sign_in_by_link(request: web.Request, body: LinkSignInIn) -> LinkSignInOut:
    """Sign in with a sign-in link a capability issued (a class invitation, say): one use of it is spent."""
    signed_in, landing_url = await do_sign_in_by_link(
        request.app[DB], request.app[SETTINGS], token=body.token, name=body.name, answers=body.answers, client=sign_in_client(request, body)
    )
    return LinkSignInOut(**login_out(signed_in).model_dump(), landing_url=landing_url)


@routes.post("/api/v1/auth/logout")
@endpoint(status=204, auth="any")
async def logout(request: web.Request) -> None:
    """Sign this device out: its token stops working."""
    principal = request[PRINCIPAL]
    async with request.app[DB].transaction() as tx:
        await do_revoke_device(tx, principal.user_id, principal.session_id)


@routes.get("/api/v1/me")
@endpoint(response=UserOut, auth="any")
async def me(request: web.Request) -> UserOut:
    """The signed-in user."""
    async with request.app[DB].transaction() as tx:
        user = await tx.session.get(User, request[PRINCIPAL].user_id)
    return UserOut.model_validate(user)


@routes.patch("/api/v1/me")
@endpoint(body=MePatchIn, response=UserOut, auth="any")
async def update_me(request: web.Request, body: MePatchIn) -> UserOut:
    """Change my name or the language I read Muster in."""
    async with request.app[DB].transaction() as tx:
        user = await do_update_user(tx, request[PRINCIPAL].user_id, name=body.name, locale=body.locale)
    return UserOut.model_validate(user)


@routes.get("/api/v1/me/devices")
@endpoint(response=list[DeviceOut])
async def my_devices(request: web.Request) -> list[DeviceOut]:
    """My signed-in devices; ``current`` marks the one making this request."""
    principal = request[PRINCIPAL]
    async with request.app[DB].transaction() as tx:
        devices = await list_devices(tx, principal.user_id)
    return [
        DeviceOut(
            id=d.id,
            device_name=d.device_name,
            user_agent=d.user_agent,
            ip=d.ip,
            created_at=d.created_at,
            last_seen_at=d.last_seen_at,
            current=d.id == principal.session_id,
        )
        for d in devices
    ]


@routes.delete("/api/v1/me/devices/{session_id}")
@endpoint(status=204)
async def revoke_my_device(request: web.Request) -> None:
    """Sign one of my devices out."""
    session_id = path_int(request, "session_id")
    async with request.app[DB].transaction() as tx:
        await do_revoke_device(tx, request[PRINCIPAL].user_id, session_id)


@routes.get("/api/v1/me/trusted-devices")
@endpoint(response=list[TrustedDeviceOut])
async def my_trusted_devices(request: web.Request) -> list[TrustedDeviceOut]:
    """The browsers I chose to remember at sign-in: they sign in with the password alone, without the code."""
    async with request.app[DB].transaction() as tx:
        devices = await list_trusted_devices(tx, request[PRINCIPAL].user_id)
    return [TrustedDeviceOut.model_validate(d) for d in devices]


@routes.delete("/api/v1/me/trusted-devices/{trusted_device_id}")
@endpoint(status=204)
async def revoke_my_trusted_device(request: web.Request) -> None:
    """Forget a remembered browser: its next sign-in asks for the code again (its open session, if any, stays: see /me/devices)."""
    device_id = path_int(request, "trusted_device_id")
    async with request.app[DB].transaction() as tx:
        await do_revoke_trusted_device(tx, await tx.session.get(User, request[PRINCIPAL].user_id), device_id)


@routes.get("/api/v1/me/notices")
@endpoint(response=list[NoticeOut])
async def my_notices(request: web.Request) -> list[NoticeOut]:
    """What I have not yet seen about my account (sign-ins on new devices), newest first."""
    async with request.app[DB].transaction() as tx:
        notices = await list_unread_notices(tx, request[PRINCIPAL].user_id)
    return [NoticeOut.model_validate(n) for n in notices]


@routes.post("/api/v1/me/notices/read")
@endpoint(body=NoticesReadIn, status=204)
async def read_my_notices(request: web.Request, body: NoticesReadIn) -> None:
    """Mark my notices up to one I saw as read."""
    async with request.app[DB].transaction() as tx:
        await do_mark_notices_read(tx, request[PRINCIPAL].user_id, body.up_to_id)


@routes.post("/api/v1/me/password")
@endpoint(body=PasswordChangeIn, response=PasswordChangeOut)
async def change_my_password(request: web.Request, body: PasswordChangeIn) -> PasswordChangeOut:
    """Change my password; every other device is signed out, this one stays."""
    principal = request[PRINCIPAL]
    revoked = await change_password(
        request.app[DB],
        request.app[SETTINGS],
        user_id=principal.user_id,
        session_id=principal.session_id,
        ip=client_ip(request),
        current_password=body.current_password,
        new_password=body.new_password,
    )
    return PasswordChangeOut(revoked_session_ids=sorted(revoked))


@routes.post("/api/v1/me/totp")
@endpoint(body=TotpBeginIn, response=TotpEnrolmentOut, status=201)
async def begin_my_totp(request: web.Request, body: TotpBeginIn) -> TotpEnrolmentOut:
    """Start two-factor enrolment, proven by the password: a secret and QR code for an authenticator app (not on until confirmed)."""
    enrolment = await begin_totp(
        request.app[DB], request.app[SETTINGS], user_id=request[PRINCIPAL].user_id, ip=client_ip(request), password=body.password
    )
    return TotpEnrolmentOut(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri, qr_svg=enrolment.qr_svg)


@routes.post("/api/v1/me/totp/confirm")
@endpoint(body=TotpCodeIn, response=UserOut)
async def confirm_my_totp(request: web.Request, body: TotpCodeIn) -> UserOut:
    """Turn two-factor sign-in on with a code from the authenticator app."""
    async with request.app[DB].transaction() as tx:
        user = await tx.session.get(User, request[PRINCIPAL].user_id)
        await do_confirm_totp(tx, user, body.code)
    return UserOut.model_validate(user)


@routes.delete("/api/v1/me/totp")
@endpoint(body=TotpDisableIn, status=204)
async def disable_my_totp(request: web.Request, body: TotpDisableIn) -> None:
    """Turn two-factor sign-in off, proven by the password and a current code."""
    await disable_totp(
        request.app[DB],
        request.app[SETTINGS],
        user_id=request[PRINCIPAL].user_id,
        ip=client_ip(request),
        password=body.password,
        code=body.code,
    )


@routes.post("/api/v1/orgs/{org_id}/guest-invites")
@endpoint(body=GuestInviteIn, response=GuestInviteOut, status=201)
async def create_guest_invite(request: web.Request, body: GuestInviteIn, org: OrgContext) -> GuestInviteOut:
    """Create a link that lets people outside the organisation in, to one thing only."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        token, invite = await do_create_invite(
            tx, org, scope_kind=body.scope_kind, scope_id=body.scope_id, expires_in_s=body.expires_in_s, max_uses=body.max_uses
        )
    return GuestInviteOut(id=invite.id, token=token, url=invite_url(request.app[SETTINGS], token), expires_at=invite.expires_at)


@routes.delete("/api/v1/orgs/{org_id}/guest-invites/{invite_id}")
@endpoint(status=204)
async def revoke_guest_invite(request: web.Request, org: OrgContext) -> None:
    """Withdraw a guest link (organisation admins, or whoever created it)."""
    invite_id = path_int(request, "invite_id")
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await do_revoke_invite(tx, org, invite_id)


@routes.delete("/api/v1/orgs/{org_id}/sign-in-links/{sign_in_link_id}")
@endpoint(status=204)
async def revoke_sign_in_link(request: web.Request, org: OrgContext) -> None:
    """Withdraw a sign-in link a capability issued (whoever issued it, or an organisation admin): nobody signs in with it any more."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        await do_revoke_sign_in_link(tx, org, path_int(request, "sign_in_link_id"))


@routes.post("/api/v1/guest-sessions")
@endpoint(body=GuestSessionIn, response=GuestSessionOut, status=201, auth="none")
async def join_as_guest(request: web.Request, body: GuestSessionIn) -> GuestSessionOut:
    """Enter through a guest link: returns a token limited to what the link invites to, and the page to go to."""
    async with request.app[DB].transaction() as tx:
        token, device, user, scope = await do_join_as_guest(
            tx,
            request.app[SETTINGS],
            invite_token=body.invite_token,
            display_name=body.display_name,
            user_agent=request.headers.get("User-Agent", ""),
            ip=client_ip(request),
        )
    return GuestSessionOut(
        token=token,
        session_id=device.id,
        user=UserOut.model_validate(user),
        scope=GuestScopeOut(org_id=scope.org_id, kind=scope.kind, id=scope.id),
        landing_url=await guest_landing(request.app[DB], scope),
    )


def setup(app: web.Application) -> None:
    from server.accounts import home, retention

    app.router.add_routes(routes)
    home.setup(app)
    retention.setup(app)
