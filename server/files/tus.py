"""Resumable uploads speaking tus 1.0 (core, creation, termination, checksum), for files of any owner.

    POST    (the owner's route, e.g. .../groups/{group_id}/uploads)   creation: Upload-Length, Upload-Metadata (filename, filetype)
    HEAD    /api/v1/uploads/{upload_id}     the offset to resume from
    PATCH   /api/v1/uploads/{upload_id}     bytes at Upload-Offset (409 if it is not the offset), optional
                                            Upload-Checksum "sha1 <base64>" (460 if the bytes do not match)
    DELETE  /api/v1/uploads/{upload_id}     termination
    OPTIONS /api/v1/uploads                 what this server speaks

Each kind of owner has its own creation route, which checks the caller may
add a file there, then calls ``create_upload``; the rest of the protocol is
the same for every upload and only its uploader reaches it.

Memory stays flat whatever the size: a PATCH body is read from the socket a
chunk at a time (never ``request.read()``, so ``client_max_size`` does not
apply) and each chunk is written to ``data_dir/uploads/<id>`` before the next
is read. The file on disk is the truth about the offset: bytes written before
a dropped connection count, so the client resumes from there. When the last
byte arrives the file moves to ``data_dir/files/`` as a ``StoredFile`` of the
upload's owner, whose ``on_complete`` runs in the same transaction
(server/files/owners.py).

Nothing is held for a declared length: creation checks the caller's
allowance (server/files/allowance.py) and that the length could fit the
quota; the quota is reserved as the bytes arrive, 64 MiB ahead of them
(server/files/storage.py), and an upload idle for a day is forgotten.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from sqlalchemy import delete, select

from server.api import endpoint
from server.appkeys import DB, PRINCIPAL, SETTINGS
from server.db import Transaction
from server.errors import Conflict, InvalidInput, MusterError, NotFound, PreconditionFailed, TooLarge, UnsupportedMediaType
from server.i18n import _
from server.files.allowance import check_upload_allowance, largest_upload
from server.files.models import StoredFile, Upload
from server.files.owners import file_owner
from server.files.storage import (
    check_quota_room,
    do_delete_file,
    do_mark_upload_active,
    do_reserve_upload_bytes,
    files_dir,
    received_bytes,
    release_quota,
    uploads_dir,
)
from server.orgs.access import OrgContext, is_admitted_outsider
from server.orgs.models import Membership

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,checksum"
TUS_HEADERS = {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store"}

routes = web.RouteTableDef()


class ChecksumMismatch(MusterError):
    """tus checksum extension: the bytes of a PATCH do not match its Upload-Checksum (tus's own status, 460)."""

    status = 460
    code = "checksum_mismatch"


def check_tus_version(request: web.Request) -> None:
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise PreconditionFailed("send 'Tus-Resumable: {tus_version}'; this server speaks tus {tus_version}", code="tus_version", tus_version=TUS_VERSION)


def parse_metadata(header: str) -> dict[str, str]:
    """``Upload-Metadata: key base64value,key2 base64value2`` → a dict of UTF-8 strings."""
    metadata = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, value = pair.partition(" ")
        try:
            metadata[key] = base64.b64decode(value, validate=True).decode() if value else ""
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidInput("Upload-Metadata value of '{key}' is not base64 of UTF-8 text", field="Upload-Metadata", key=key) from None
    return metadata


def parse_length(header: str | None, name: str) -> int:
    if header is None or not header.isdigit():
        raise InvalidInput("send {name} as a non-negative integer", field=name, name=name)
    return int(header)


def parse_checksum(header: str | None):
    """A hash object to feed the PATCH body to, and the digest it must end with; (None, None) without the header."""
    if header is None:
        return None, None
    algorithm, _, encoded = header.partition(" ")
    if algorithm != "sha1":
        raise InvalidInput("Upload-Checksum: this server supports 'sha1'", field="Upload-Checksum")
    try:
        expected = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise InvalidInput("Upload-Checksum: the digest is not base64", field="Upload-Checksum") from None
    return hashlib.sha1(), expected


@routes.route("OPTIONS", "/api/v1/uploads")
async def tus_options(request: web.Request) -> web.Response:
    """What this server speaks of tus: version, extensions, largest upload, checksum algorithms."""
    settings = request.app[SETTINGS]
    return web.Response(
        status=204,
        headers={
            "Tus-Resumable": TUS_VERSION,
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": TUS_EXTENSIONS,
            "Tus-Max-Size": str(settings.upload_max_bytes),
            "Tus-Checksum-Algorithm": "sha1",
        },
    )


async def create_upload(
    request: web.Request, org: OrgContext, kind: str, owner: Callable[[Transaction], Awaitable[int | None]]
) -> web.Response:
    """tus creation of an upload for an owner of ``kind``, within the caller's allowance; the Location answers HEAD and PATCH.

    ``owner(tx)`` checks the caller may add a file there (raising if not) and
    returns the owner's id, or None for an owner that will exist only later.
    """
    settings = request.app[SETTINGS]
    check_tus_version(request)
    length = parse_length(request.headers.get("Upload-Length"), "Upload-Length")
    largest = largest_upload(settings, org)
    if length > largest:
        who = _("guests' files") if org.principal.is_guest else _("files")
        raise TooLarge("{who} may be at most {largest} bytes; this one is {length}", field="Upload-Length", who=who, largest=largest, length=length)
    metadata = parse_metadata(request.headers.get("Upload-Metadata", ""))
    filename = os.path.basename(metadata.get("filename", "").replace("\\", "/")).strip()
    if not filename or len(filename) > 255:
        raise InvalidInput("Upload-Metadata needs a 'filename' of 1 to 255 characters", field="Upload-Metadata")
    content_type = metadata.get("filetype", "") or "application/octet-stream"
    if len(content_type) > 128 or "/" not in content_type:
        raise InvalidInput("Upload-Metadata 'filetype' must be a media type like 'image/png'", field="Upload-Metadata")
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        owner_id = await owner(tx)
        await check_quota_room(tx, settings, org.org_id, length)
        upload = Upload(
            id=secrets.token_hex(16),
            org_id=org.org_id,
            owner_kind=kind,
            owner_id=owner_id,
            uploader_id=org.user_id,
            filename=filename,
            content_type=content_type,
            length=length,
        )
        tx.session.add(upload)
        await tx.session.flush()
        await check_upload_allowance(tx, settings, org)
        uploads_dir(settings).mkdir(parents=True, exist_ok=True)
        (uploads_dir(settings) / upload.id).touch()
    return web.Response(status=201, headers=TUS_HEADERS | {"Location": f"/api/v1/uploads/{upload.id}", "Upload-Offset": "0"})


async def _load_upload(request: web.Request) -> Upload:
    """The caller's own upload, while they are still in its organisation; anyone else's reads as missing.

    Membership (or being an outsider the organisation admits: server/orgs/access.py) is read here, not only when the upload
    was created: someone removed from the organisation cannot send another byte, even before
    their uploads are cancelled (server/files/routes.py).
    """
    upload_id = request.match_info["upload_id"]
    principal = request[PRINCIPAL]
    async with request.app[DB].transaction() as tx:
        upload = await tx.session.get(Upload, upload_id) if len(upload_id) == 32 else None
        if upload is None or upload.uploader_id != principal.user_id:
            raise NotFound("no such upload")
        if principal.guest is not None:
            still_in = principal.guest.org_id == upload.org_id
        else:
            still_in = await tx.session.scalar(
                select(Membership.id).where(Membership.org_id == upload.org_id, Membership.user_id == principal.user_id)
            ) is not None or await is_admitted_outsider(tx, upload.org_id, principal.user_id)
    if not still_in:
        raise NotFound("no such upload")
    return upload


@routes.head("/api/v1/uploads/{upload_id}")
@endpoint(auth="any")
async def upload_offset(request: web.Request) -> web.Response:
    """tus core: how many bytes the server has, so the client resumes from there."""
    settings = request.app[SETTINGS]
    check_tus_version(request)
    upload = await _load_upload(request)
    return web.Response(
        status=200, headers=TUS_HEADERS | {"Upload-Offset": str(received_bytes(settings, upload)), "Upload-Length": str(upload.length)}
    )


@routes.patch("/api/v1/uploads/{upload_id}")
@endpoint(status=204, auth="any")
async def upload_bytes(request: web.Request) -> web.Response:
    """tus core: append the body at Upload-Offset, streamed to disk; the last byte makes it a file of its owner (Muster-File-Id)."""
    settings = request.app[SETTINGS]
    check_tus_version(request)
    upload = await _load_upload(request)
    if request.content_type != "application/offset+octet-stream":
        raise UnsupportedMediaType("send the bytes with 'Content-Type: application/offset+octet-stream'")
    offset = parse_length(request.headers.get("Upload-Offset"), "Upload-Offset")
    hasher, expected = parse_checksum(request.headers.get("Upload-Checksum"))
    received = received_bytes(settings, upload)
    if upload.file_id is not None:
        raise Conflict("this upload is already complete", code="upload_complete")
    if offset != received:
        raise Conflict("Upload-Offset is {offset} but the server has {received} bytes; resume from {received}", code="offset_mismatch", offset=offset, received=received)
    remaining = upload.length - offset
    if request.content_length is not None and request.content_length > remaining:
        raise InvalidInput("{content_length} bytes sent but only {remaining} remain of Upload-Length", field="Content-Length", content_length=request.content_length, remaining=remaining)
    held = upload.reserved_bytes
    async with request.app[DB].transaction(org_id=upload.org_id) as tx:
        await do_mark_upload_active(tx, upload.id)  # bytes are arriving: not idle, whether or not they need more quota

    async def reserve_through(end: int) -> None:
        """Quota for the upload's bytes up to ``end`` before they are written."""
        nonlocal held
        if end > held:
            async with request.app[DB].transaction(org_id=upload.org_id) as tx:
                held = await do_reserve_upload_bytes(tx, settings, upload, held, end)

    written = await _append(request, uploads_dir(settings) / upload.id, offset, remaining, hasher, expected, reserve_through)
    headers = TUS_HEADERS | {"Upload-Offset": str(offset + written)}
    if offset + written == upload.length:
        await reserve_through(upload.length)  # an empty file reserves nothing until here
        headers |= await _finish(request, upload)
    return web.Response(status=204, headers=headers)


async def _append(
    request: web.Request,
    path: Path,
    offset: int,
    remaining: int,
    hasher,
    expected: bytes | None,
    reserve_through: Callable[[int], Awaitable[None]],
) -> int:
    """Write the body after ``offset``, a chunk at a time, each within the quota first reserved for it.
    With a checksum, a mismatch (or a body cut short) keeps nothing."""
    written = 0
    with path.open("r+b") as f:
        f.truncate(offset)
        f.seek(offset)
        try:
            while True:
                chunk = await request.content.readany()
                if not chunk:
                    break
                if written + len(chunk) > remaining:
                    f.truncate(offset)
                    raise InvalidInput("the body goes past Upload-Length ({remaining} bytes remained)", field="Content-Length", remaining=remaining)
                await reserve_through(offset + written + len(chunk))
                f.write(chunk)
                written += len(chunk)
                if hasher is not None:
                    hasher.update(chunk)
        except BaseException:
            # A dropped connection keeps what arrived (unless it must match a checksum), so the client resumes there.
            f.flush()
            if hasher is not None:
                f.truncate(offset)
            raise
        if hasher is not None and hasher.digest() != expected:
            f.truncate(offset)
            raise ChecksumMismatch("the bytes received do not match Upload-Checksum; nothing of this PATCH was kept")
    return written


async def _finish(request: web.Request, upload: Upload) -> dict[str, str]:
    """Store the complete upload as a file of its owner, let the owner act on it (e.g. post it); its ids go back in headers."""
    settings = request.app[SETTINGS]
    owner = file_owner(request.app, upload.owner_kind)
    if owner is None:  # its kind's capability is no longer installed
        raise NotFound("no such upload")
    principal = request[PRINCIPAL]
    org = OrgContext(upload.org_id, principal, None, "guest" if principal.is_guest else "member")
    files_dir(settings).mkdir(parents=True, exist_ok=True)
    async with request.app[DB].transaction(org_id=upload.org_id) as tx:
        file = StoredFile(
            org_id=upload.org_id,
            owner_kind=upload.owner_kind,
            owner_id=upload.owner_id,
            uploader_id=upload.uploader_id,
            filename=upload.filename,
            content_type=upload.content_type,
            size=upload.length,
            storage_key=secrets.token_hex(16),
        )
        tx.session.add(file)
        await tx.session.flush()
        row = await tx.session.get(Upload, upload.id)
        if row is None or row.file_id is not None:  # expired, terminated or cancelled (its uploader lost access) while its last bytes arrived
            raise NotFound("no such upload")
        row.file_id = file.id
        partial, stored = uploads_dir(settings) / upload.id, files_dir(settings) / file.storage_key
        os.replace(partial, stored)  # on_complete may read the file (a voice message's length)
        try:
            headers = {"Muster-File-Id": str(file.id)} | await owner.on_complete(tx, org, file)
        except BaseException:
            os.replace(stored, partial)
            raise
    return headers


@routes.delete("/api/v1/uploads/{upload_id}")
@endpoint(status=204, auth="any")
async def terminate_upload(request: web.Request) -> web.Response:
    """tus termination: forget an upload and its bytes (a finished file stays with its owner; one not yet attached goes too)."""
    settings = request.app[SETTINGS]
    check_tus_version(request)
    upload = await _load_upload(request)
    async with request.app[DB].transaction(org_id=upload.org_id) as tx:
        unfinished = await tx.session.scalar(
            delete(Upload)
            .where(Upload.id == upload.id, Upload.file_id.is_(None))
            .returning(Upload.reserved_bytes)
            .execution_options(synchronize_session=False)
        )
        if unfinished is not None:
            await release_quota(tx, upload.org_id, unfinished)
        else:
            file_id = await tx.session.scalar(select(Upload.file_id).where(Upload.id == upload.id))
            if file_id is None or not await do_delete_file(tx, settings, file_id, only_unattached=True):
                # its file is attached to its owner: it stays (and holds its quota); only the upload is forgotten
                await tx.session.execute(delete(Upload).where(Upload.id == upload.id).execution_options(synchronize_session=False))
    (uploads_dir(settings) / upload.id).unlink(missing_ok=True)
    return web.Response(status=204, headers=TUS_HEADERS)
