"""Files in groups: uploaded with tus into a group (server/files/tus.py), posted there as a message, read by its members.

    POST /api/v1/orgs/{org_id}/groups/{group_id}/uploads              tus creation, for members of the group
    GET  /api/v1/orgs/{org_id}/groups/{group_id}/files/{file_id}      the file, for members of that group, with HTTP Range

The last byte of an upload posts the file in the group as a message (kind
``image``, ``voice`` for audio whose length the server can read, else
``file``; its seq goes back in ``Muster-Message-Seq``). Images have
thumbnails at ``/api/v1/orgs/{org_id}/files/{file_id}/thumbnail``. The same
files are readable at ``/api/v1/orgs/{org_id}/files/{file_id}`` by the same
people (outsiders too, in the external groups they are in).
"""
from __future__ import annotations

import functools

from aiohttp import web
from sqlalchemy import select

from server.api import endpoint, path_int
from server.appkeys import DB, SETTINGS
from server.config import Settings
from server.db import Transaction
from server.errors import Forbidden, NotFound
from server.files.models import StoredFile
from server.files.owners import FileOwner, register_file_owner
from server.files.media import audio_duration_ms
from server.files.routes import INLINE_TYPES, file_response
from server.files.storage import files_dir
from server.files.tus import create_upload
from server.groups.access import load_group
from server.groups.messages import do_post_message
from server.orgs.access import OrgContext

GROUP_FILES = "group"  # the owner kind of files posted in groups

routes = web.RouteTableDef()


@routes.post("/api/v1/orgs/{org_id}/groups/{group_id}/uploads")
@endpoint(status=201, auth="any", external=True)
async def create_group_upload(request: web.Request, org: OrgContext) -> web.Response:
    """tus creation: an upload of Upload-Length bytes for this group; the Location answers HEAD and PATCH."""

    async def group_id(tx: Transaction) -> int:
        return (await load_group(tx, org, path_int(request, "group_id"))).group.id

    return await create_upload(request, org, GROUP_FILES, group_id)


async def _post_in_group(settings: Settings, tx: Transaction, org: OrgContext, file: StoredFile) -> dict[str, str]:
    access = await load_group(tx, org, file.owner_id)
    kind, duration_ms = file_kind(file), None
    if file.content_type.startswith("audio/"):
        duration_ms = await audio_duration_ms(files_dir(settings) / file.storage_key)
        kind = "voice" if duration_ms is not None else "file"
    message = await do_post_message(tx, access, settings, body=file.filename, kind=kind, file=file, duration_ms=duration_ms)
    return {"Muster-Message-Seq": str(message.seq)}


def file_kind(file: StoredFile) -> str:
    return "image" if file.content_type in INLINE_TYPES else "file"


async def _member_may_read(tx: Transaction, org: OrgContext, file: StoredFile) -> bool:
    try:
        await load_group(tx, org, file.owner_id)
    except (Forbidden, NotFound):
        return False
    return True


@routes.get("/api/v1/orgs/{org_id}/groups/{group_id}/files/{file_id}")
@endpoint(auth="any", external=True)
async def download(request: web.Request, org: OrgContext) -> web.FileResponse:
    """A file posted in the group, for its members; HTTP Range lets a download resume."""
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        access = await load_group(tx, org, path_int(request, "group_id"))
        file = await tx.session.scalar(
            select(StoredFile).where(
                StoredFile.id == path_int(request, "file_id"), StoredFile.owner_kind == GROUP_FILES, StoredFile.owner_id == access.group.id
            )
        )
    if file is None:
        raise NotFound("no such file in this group")
    return file_response(request.app[SETTINGS], file)


def setup(app: web.Application) -> None:
    # outsiders too: load_group lets them into the external groups they are in (a class group's images, thumbnails)
    register_file_owner(app, FileOwner(GROUP_FILES, may_read=_member_may_read, on_complete=functools.partial(_post_in_group, app[SETTINGS]),
                                       outsiders=True))
    app.router.add_routes(routes)
