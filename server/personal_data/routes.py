"""The personal data API: for an organisation's admins acting on a person's request, and for a person about themselves.

    GET  /api/v1/orgs/{org_id}/members/{member_id}/personal-data   everything the organisation holds about them, as JSON
    POST /api/v1/orgs/{org_id}/members/{member_id}/erasure         erase it and remove them ({"confirm": true})
    GET  /api/v1/me/personal-data                                  everything the server holds about me, as JSON
    POST /api/v1/me/deletion                                       delete my account ({"password": ..., "confirm": true}; not a member)

Erasing an owner takes an owner, and the last owner cannot be erased, as for removal.
"""
from __future__ import annotations


from aiohttp import web

from server.accounts.credentials import check_password_again
from server.api import endpoint, path_int
from server.appkeys import DB, PRINCIPAL, SETTINGS
from server.orgs.access import OrgContext
from server.personal_data.actions import do_delete_account_if_unattached, do_erase_person, do_export_personal_data
from server.personal_data.own import do_delete_own_account, do_export_own_data
from server.personal_data.parts import PERSONAL_DATA
from server.personal_data.schemas import AccountDeletionIn, AccountDeletionOut, ErasureIn, ErasureOut, OwnDataOut, PersonalDataOut

routes = web.RouteTableDef()


@routes.get("/api/v1/orgs/{org_id}/members/{member_id}/personal-data")
@endpoint(response=PersonalDataOut, role="admin")
async def export_personal_data(request: web.Request, org: OrgContext) -> web.Response:
    """Everything this organisation holds about one member, as a JSON download (recorded in the audit log)."""
    member_id = path_int(request, "member_id")
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        member, data = await do_export_personal_data(tx, request.app[PERSONAL_DATA], org, member_id)
    body = PersonalDataOut(member_id=member.id, user_id=member.user_id, parts=data)
    return web.json_response(
        text=body.model_dump_json(),
        headers={"Content-Disposition": f'attachment; filename="personal-data-{org.org_id}-{member.id}.json"'},
    )


@routes.post("/api/v1/orgs/{org_id}/members/{member_id}/erasure")
@endpoint(body=ErasureIn, response=ErasureOut, role="admin")
async def erase_person(request: web.Request, body: ErasureIn, org: OrgContext) -> ErasureOut:
    """Erase a member's messages, reactions, files and each capability's data here, then remove them; irreversible."""
    member_id = path_int(request, "member_id")
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        user_id, erased = await do_erase_person(tx, request.app[PERSONAL_DATA], request.app[SETTINGS], org, member_id)
    account_deleted = await do_delete_account_if_unattached(request.app[DB], user_id)
    return ErasureOut(member_id=member_id, account_deleted=account_deleted, erased=erased)


@routes.get("/api/v1/me/personal-data")
@endpoint(response=OwnDataOut)
async def export_own_data(request: web.Request) -> web.Response:
    """Everything the server holds about me, in every organisation I am a member or an external contact of, as a JSON download."""
    principal = request[PRINCIPAL]
    data = await do_export_own_data(request.app[DB], request.app[PERSONAL_DATA], principal.user_id)
    return web.json_response(
        text=OwnDataOut.model_validate(data).model_dump_json(),
        headers={"Content-Disposition": f'attachment; filename="my-data-{principal.user_id}.json"'},
    )


@routes.post("/api/v1/me/deletion")
@endpoint(body=AccountDeletionIn, response=AccountDeletionOut)
async def delete_own_account(request: web.Request, body: AccountDeletionIn) -> AccountDeletionOut:
    """Delete my account, proven by the password: my data wherever I am an external contact is erased and every device signed out.
    Irreversible; refused (409 ``still_a_member``) while I am a member of an organisation, whose admins hold my data there."""
    user_id = request[PRINCIPAL].user_id
    await check_password_again(request.app[DB], request.app[SETTINGS], user_id, request.remote or "", body.password, field="password")
    erased = await do_delete_own_account(request.app[DB], request.app[PERSONAL_DATA], request.app[SETTINGS], user_id)
    return AccountDeletionOut(organisations=sorted(erased))


def setup(app: web.Application) -> None:
    app[PERSONAL_DATA] = {}  # the parts register in their own setup, which comes later (server/app.py)
    app.router.add_routes(routes)
