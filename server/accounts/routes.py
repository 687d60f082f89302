"""Accounts API: sign in and out, who am I."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from server.accounts.login import do_login
from server.accounts.models import User
from server.accounts.schemas import LoginIn, LoginOut, UserOut
from server.api import endpoint
from server.appkeys import DB, PRINCIPAL, SETTINGS

routes = web.RouteTableDef()


@routes.post("/api/v1/auth/login")
@endpoint(body=LoginIn, response=LoginOut, auth="none")
async def login(request: web.Request, body: LoginIn) -> LoginOut:
    """Sign in with email and password; returns a bearer token for this device."""
    token, device, user = await do_login(
        request.app[DB],
        request.app[SETTINGS],
        email=body.email,
        password=body.password,
        totp_code=body.totp_code,
        device_name=body.device_name,
        user_agent=request.headers.get("User-Agent", ""),
        ip=request.remote or "",
    )
    return LoginOut(token=token, session_id=device.id, user=UserOut.model_validate(user))


@routes.get("/api/v1/me")
@endpoint(response=UserOut, auth="any")
async def me(request: web.Request) -> UserOut:
    """The signed-in user."""
    async with request.app[DB].transaction() as tx:
        user = await tx.session.get(User, request[PRINCIPAL].user_id)
    return UserOut.model_validate(user)


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
