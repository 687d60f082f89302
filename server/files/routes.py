"""Downloads, and the routes of the upload protocol (server/files/tus.py).

    GET /api/v1/orgs/{org_id}/files/{file_id}             a file, for whoever its owner kind lets read it, with HTTP Range
    GET /api/v1/orgs/{org_id}/files/{file_id}/thumbnail   an image's thumbnail (server/files/thumbnails.py), for the same people

Anyone else, in the organisation or not, gets 404, as for a file that does
not exist. The organisation's admitted outsiders (a school's guardians) reach
these routes too, but only an owner kind declared ``outsiders=True`` is asked
about them (a notice they received, a photo they answered with); every other
file is 404 to them. Each node also sweeps abandoned uploads and files while it runs
(server/files/storage.py). Owners may also serve their files under their own paths
(``.../groups/{group_id}/files/{file_id}``) with ``file_response``.
"""
from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import quote

from aiohttp import web

from server.api import endpoint, path_int
from server.appkeys import DB, SETTINGS
from server.config import Settings
from server.errors import NotFound
from server.files import personal_data, tus
from server.files.models import StoredFile
from server.files.owners import FILE_OWNERS, file_owner
from server.files.storage import do_cancel_uploads, expire_abandoned_forever, files_dir
from server.files.thumbnails import thumbnail
from server.orgs.access import OrgContext
from server.personal_data.parts import register_personal_data
from server.revocation import AccessRevoked, on_access_revoked

CHUNK_BYTES = 1 << 20
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})  # shown in the page; anything else is saved

routes = web.RouteTableDef()


def file_url(org_id: int, file_id: int) -> str:
    return f"/api/v1/orgs/{org_id}/files/{file_id}"


def file_response(settings: Settings, file: StoredFile) -> web.FileResponse:
    """The file's bytes, streamed a chunk at a time, with Range; sandboxed so that no upload can run as a page of ours."""
    inline = file.content_type in INLINE_TYPES
    return web.FileResponse(
        files_dir(settings) / file.storage_key,
        chunk_size=CHUNK_BYTES,
        headers={
            "Content-Type": file.content_type if inline else "application/octet-stream",
            "Content-Disposition": f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(file.filename, safe='')}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
        },
    )


@routes.get("/api/v1/orgs/{org_id}/files/{file_id}")
@endpoint(auth="any", external=True)
async def download(request: web.Request, org: OrgContext) -> web.FileResponse:
    """A file, if its owner (a group, a broadcast, ...) lets the caller read it; HTTP Range lets a download resume."""
    return file_response(request.app[SETTINGS], await _readable_file(request, org, download=True))


async def _readable_file(request: web.Request, org: OrgContext, download: bool = False) -> StoredFile:
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        file = await tx.session.get(StoredFile, path_int(request, "file_id"))
        owner = file_owner(request.app, file.owner_kind) if file is not None and file.org_id == org.org_id else None
        if owner is not None and org.role == "external" and not owner.outsiders:
            owner = None  # an outsider reads only what an owner open to them says they may
        readable = owner is not None and await owner.may_read(tx, org, file)
        if readable and download and owner.on_download is not None:
            await owner.on_download(tx, org, file)
    if not readable:
        raise NotFound("no such file")
    return file


@routes.get("/api/v1/orgs/{org_id}/files/{file_id}/thumbnail")
@endpoint(auth="any", external=True)
async def download_thumbnail(request: web.Request, org: OrgContext) -> web.FileResponse:
    """A small JPEG of an image file, for whoever may read the file."""
    file = await _readable_file(request, org)
    path = await thumbnail(request.app[SETTINGS], file)
    if path is None:
        raise NotFound("this file has no thumbnail")
    return web.FileResponse(
        path,
        headers={"Content-Type": "image/jpeg", "Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


async def _sweeping_abandoned(app: web.Application):
    task = asyncio.get_running_loop().create_task(expire_abandoned_forever(app[DB], app[SETTINGS]))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def setup(app: web.Application) -> None:
    app[FILE_OWNERS] = {}
    register_personal_data(app, personal_data.PART)

    async def cancel_uploads(revoked: AccessRevoked) -> None:
        async with app[DB].transaction(org_id=revoked.org_id) as tx:
            await do_cancel_uploads(tx, app[SETTINGS], revoked)

    on_access_revoked(app, cancel_uploads)
    app.cleanup_ctx.append(_sweeping_abandoned)
    app.router.add_routes(tus.routes)
    app.router.add_routes(routes)
