"""Files in groups: resumable uploads speaking tus 1.0 (core, creation, termination, checksum), and downloads with Range.

    POST    /api/v1/orgs/{org_id}/groups/{group_id}/uploads   creation: Upload-Length, Upload-Metadata (filename, filetype)
    HEAD    /api/v1/uploads/{upload_id}                       the offset to resume from
    PATCH   /api/v1/uploads/{upload_id}                       bytes at Upload-Offset (409 if it is not the offset), optional
                                                              Upload-Checksum "sha1 <base64>" (460 if the bytes do not match)
    DELETE  /api/v1/uploads/{upload_id}                       termination
    OPTIONS /api/v1/uploads                                   what this server speaks
    GET     /api/v1/orgs/{org_id}/groups/{group_id}/files/{file_id}   the file, for members of that group, with HTTP Range

Memory stays flat whatever the size: a PATCH body is read from the socket a
chunk at a time (never ``request.read()``, so ``client_max_size`` does not
apply) and each chunk is written to ``data_dir/uploads/<id>`` before the next
is read. The file on disk is the truth about the offset: bytes written before
a dropped connection count, so the client resumes from there. When the last
byte arrives the file moves to ``data_dir/files/`` and is posted in the group
as a message (kind ``image`` or ``file``).

The organisation's quota counts stored files plus the full length of uploads
still in progress, kept in one ``group_storage`` row per organisation: a
creation reserves its length with one conditional UPDATE of that row, so
parallel creations cannot together overshoot the quota; termination gives the
reservation back, and so does expiry of uploads abandoned for
``ABANDONED_AFTER`` (found when a reservation would not fit).
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import os
import secrets
from pathlib import Path
from urllib.parse import quote

from aiohttp import web
from sqlalchemy import delete, select, update

from server.api import endpoint, path_int
from server.appkeys import DB, PRINCIPAL, SETTINGS
from server.config import Settings
from server.db import Transaction, utcnow
from server.db.upsert import insert_for
from server.errors import Conflict, InvalidInput, MusterError, NotFound, PreconditionFailed, TooLarge, UnsupportedMediaType
from server.groups.access import load_group
from server.groups.messages import do_post_message
from server.groups.models import GroupFile, GroupStorage, Upload
from server.orgs.access import OrgContext

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,checksum"
CHUNK_BYTES = 1 << 20
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
ABANDONED_AFTER = dt.timedelta(days=7)  # an unfinished upload this old stops holding quota once room is needed

routes = web.RouteTableDef()


class ChecksumMismatch(MusterError):
    """tus checksum extension: the bytes of a PATCH do not match its Upload-Checksum (tus's own status, 460)."""

    status = 460
    code = "checksum_mismatch"


TUS_HEADERS = {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store"}


def check_tus_version(request: web.Request) -> None:
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise PreconditionFailed(f"send 'Tus-Resumable: {TUS_VERSION}'; this server speaks tus {TUS_VERSION}", code="tus_version")


def parse_metadata(header: str) -> dict[str, str]:
    """``Upload-Metadata: key base64value,key2 base64value2`` → a dict of UTF-8 strings."""
    metadata = {}
    for pair in filter(None, (p.strip() for p in header.split(","))):
        key, _, value = pair.partition(" ")
        try:
            metadata[key] = base64.b64decode(value, validate=True).decode() if value else ""
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidInput(f"Upload-Metadata value of '{key}' is not base64 of UTF-8 text", field="Upload-Metadata") from None
    return metadata


def parse_length(header: str | None, name: str) -> int:
    if header is None or not header.isdigit():
        raise InvalidInput(f"send {name} as a non-negative integer", field=name)
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


def uploads_dir(settings: Settings) -> Path:
    return settings.data_dir / "uploads"


def files_dir(settings: Settings) -> Path:
    return settings.data_dir / "files"


async def reserve_quota(tx: Transaction, settings: Settings, org_id: int, length: int) -> None:
    """Hold ``length`` bytes of the organisation's quota, atomically; abandoned uploads make room first if needed."""
    if await _reserve(tx, settings, org_id, length):
        return
    if await _expire_abandoned(tx, settings, org_id) and await _reserve(tx, settings, org_id, length):
        return
    held = await tx.session.scalar(select(GroupStorage.reserved_bytes).where(GroupStorage.org_id == org_id))
    raise TooLarge(
        f"this organisation's storage quota of {settings.org_quota_bytes} bytes would be exceeded "
        f"({held} held by files and uploads in progress, {length} requested)",
        code="quota_exceeded",
    )


async def _reserve(tx: Transaction, settings: Settings, org_id: int, length: int) -> bool:
    await tx.session.execute(insert_for(tx.dialect, GroupStorage).values(org_id=org_id, reserved_bytes=0).on_conflict_do_nothing())
    reserved = await tx.session.scalar(
        update(GroupStorage)
        .where(GroupStorage.org_id == org_id, GroupStorage.reserved_bytes + length <= settings.org_quota_bytes)
        .values(reserved_bytes=GroupStorage.reserved_bytes + length)
        .returning(GroupStorage.org_id)
        .execution_options(synchronize_session=False)
    )
    return reserved is not None


async def release_quota(tx: Transaction, org_id: int, length: int) -> None:
    await tx.session.execute(
        update(GroupStorage)
        .where(GroupStorage.org_id == org_id)
        .values(reserved_bytes=GroupStorage.reserved_bytes - length)
        .execution_options(synchronize_session=False)
    )


async def _expire_abandoned(tx: Transaction, settings: Settings, org_id: int) -> bool:
    """Forget the organisation's unfinished uploads older than ``ABANDONED_AFTER``; their bytes go after commit."""
    expired = list(
        await tx.session.execute(
            delete(Upload)
            .where(Upload.org_id == org_id, Upload.file_id.is_(None), Upload.created_at < utcnow() - ABANDONED_AFTER)
            .returning(Upload.id, Upload.length)
            .execution_options(synchronize_session=False)
        )
    )
    if not expired:
        return False
    await release_quota(tx, org_id, sum(length for _, length in expired))

    async def unlink() -> None:
        for upload_id, _ in expired:
            (uploads_dir(settings) / upload_id).unlink(missing_ok=True)

    tx.after_commit(unlink)
    return True


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


@routes.post("/api/v1/orgs/{org_id}/groups/{group_id}/uploads")
@endpoint(status=201, auth="any")
async def create_upload(request: web.Request, org: OrgContext) -> web.Response:
    """tus creation: reserve an upload of Upload-Length bytes for this group; the Location answers HEAD and PATCH."""
    settings = request.app[SETTINGS]
    check_tus_version(request)
    length = parse_length(request.headers.get("Upload-Length"), "Upload-Length")
    if length > settings.upload_max_bytes:
        raise TooLarge(f"files may be at most {settings.upload_max_bytes} bytes; this one is {length}", field="Upload-Length")
    metadata = parse_metadata(request.headers.get("Upload-Metadata", ""))
    filename = os.path.basename(metadata.get("filename", "").replace("\\", "/")).strip()
    if not filename or len(filename) > 255:
        raise InvalidInput("Upload-Metadata needs a 'filename' of 1 to 255 characters", field="Upload-Metadata")
    content_type = metadata.get("filetype", "") or "application/octet-stream"
    if len(content_type) > 128 or "/" not in content_type:
        raise InvalidInput("Upload-Metadata 'filetype' must be a media type like 'image/png'", field="Upload-Metadata")
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        access = await load_group(tx, org, path_int(request, "group_id"))
        await reserve_quota(tx, settings, org.org_id, length)
        upload = Upload(
            id=secrets.token_hex(16),
            org_id=org.org_id,
            group_id=access.group.id,
            uploader_id=org.user_id,
            filename=filename,
            content_type=content_type,
            length=length,
        )
        tx.session.add(upload)
        uploads_dir(settings).mkdir(parents=True, exist_ok=True)
        (uploads_dir(settings) / upload.id).touch()
    return web.Response(status=201, headers=TUS_HEADERS | {"Location": f"/api/v1/uploads/{upload.id}", "Upload-Offset": "0"})


async def _load_upload(request: web.Request) -> Upload:
    """The caller's own upload; anyone else's reads as missing."""
    upload_id = request.match_info["upload_id"]
    async with request.app[DB].transaction() as tx:
        upload = await tx.session.get(Upload, upload_id) if len(upload_id) == 32 else None
    if upload is None or upload.uploader_id != request[PRINCIPAL].user_id:
        raise NotFound("no such upload")
    return upload


def _received(settings: Settings, upload: Upload) -> int:
    if upload.file_id is not None:
        return upload.length
    try:
        return (uploads_dir(settings) / upload.id).stat().st_size
    except FileNotFoundError:
        raise NotFound("no such upload") from None


@routes.head("/api/v1/uploads/{upload_id}")
@endpoint(auth="any")
async def upload_offset(request: web.Request) -> web.Response:
    """tus core: how many bytes the server has, so the client resumes from there."""
    settings = request.app[SETTINGS]
    check_tus_version(request)
    upload = await _load_upload(request)
    return web.Response(
        status=200, headers=TUS_HEADERS | {"Upload-Offset": str(_received(settings, upload)), "Upload-Length": str(upload.length)}
    )


@routes.patch("/api/v1/uploads/{upload_id}")
@endpoint(auth="any")
async def upload_bytes(request: web.Request) -> web.Response:
    """tus core: append the body at Upload-Offset, streamed to disk; the last byte posts the file in the group."""
    settings = request.app[SETTINGS]
    check_tus_version(request)
    upload = await _load_upload(request)
    if request.content_type != "application/offset+octet-stream":
        raise UnsupportedMediaType("send the bytes with 'Content-Type: application/offset+octet-stream'")
    offset = parse_length(request.headers.get("Upload-Offset"), "Upload-Offset")
    hasher, expected = parse_checksum(request.headers.get("Upload-Checksum"))
    received = _received(settings, upload)
    if upload.file_id is not None:
        raise Conflict("this upload is already complete", code="upload_complete")
    if offset != received:
        raise Conflict(f"Upload-Offset is {offset} but the server has {received} bytes; resume from {received}", code="offset_mismatch")
    remaining = upload.length - offset
    if request.content_length is not None and request.content_length > remaining:
        raise InvalidInput(f"{request.content_length} bytes sent but only {remaining} remain of Upload-Length", field="Content-Length")
    written = await _append(request, uploads_dir(settings) / upload.id, offset, remaining, hasher, expected)
    headers = TUS_HEADERS | {"Upload-Offset": str(offset + written)}
    if offset + written == upload.length:
        headers |= await _finish(request, upload)
    return web.Response(status=204, headers=headers)


async def _append(request: web.Request, path: Path, offset: int, remaining: int, hasher, expected: bytes | None) -> int:
    """Write the body after ``offset``, a chunk at a time. With a checksum, a mismatch (or a body cut short) keeps nothing."""
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
                    raise InvalidInput(f"the body goes past Upload-Length ({remaining} bytes remained)", field="Content-Length")
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
    """Move the complete file among the group's files and post it as a message; its ids go back in headers."""
    settings = request.app[SETTINGS]
    principal = request[PRINCIPAL]
    org = OrgContext(upload.org_id, principal, None, "guest" if principal.is_guest else "member")
    files_dir(settings).mkdir(parents=True, exist_ok=True)
    storage_key = secrets.token_hex(16)
    async with request.app[DB].transaction(org_id=upload.org_id) as tx:
        access = await load_group(tx, org, upload.group_id)
        file = GroupFile(
            org_id=upload.org_id,
            group_id=upload.group_id,
            uploader_id=upload.uploader_id,
            filename=upload.filename,
            content_type=upload.content_type,
            size=upload.length,
            storage_key=storage_key,
        )
        tx.session.add(file)
        await tx.session.flush()
        row = await tx.session.get(Upload, upload.id)
        row.file_id = file.id
        kind = "image" if upload.content_type in INLINE_TYPES else "file"
        message = await do_post_message(tx, access, settings, body=upload.filename, kind=kind, file=file)
        os.replace(uploads_dir(settings) / upload.id, files_dir(settings) / storage_key)
    return {"Muster-File-Id": str(file.id), "Muster-Message-Seq": str(message.seq)}


@routes.delete("/api/v1/uploads/{upload_id}")
@endpoint(auth="any")
async def terminate_upload(request: web.Request) -> web.Response:
    """tus termination: forget an upload and its bytes (a finished file stays in its group)."""
    settings = request.app[SETTINGS]
    check_tus_version(request)
    upload = await _load_upload(request)
    async with request.app[DB].transaction(org_id=upload.org_id) as tx:
        unfinished = await tx.session.scalar(
            delete(Upload).where(Upload.id == upload.id, Upload.file_id.is_(None)).returning(Upload.length).execution_options(synchronize_session=False)
        )
        if unfinished is not None:
            await release_quota(tx, upload.org_id, unfinished)
        else:  # finished meanwhile: its file stays (and holds its quota); only the upload is forgotten
            await tx.session.execute(delete(Upload).where(Upload.id == upload.id).execution_options(synchronize_session=False))
    (uploads_dir(settings) / upload.id).unlink(missing_ok=True)
    return web.Response(status=204, headers=TUS_HEADERS)


@routes.get("/api/v1/orgs/{org_id}/groups/{group_id}/files/{file_id}")
@endpoint(auth="any")
async def download(request: web.Request, org: OrgContext) -> web.FileResponse:
    """A file posted in the group, for its members; HTTP Range lets a download resume."""
    settings = request.app[SETTINGS]
    async with request.app[DB].transaction(org_id=org.org_id) as tx:
        access = await load_group(tx, org, path_int(request, "group_id"))
        file = await tx.session.scalar(
            select(GroupFile).where(GroupFile.id == path_int(request, "file_id"), GroupFile.group_id == access.group.id)
        )
    if file is None:
        raise NotFound("no such file in this group")
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


def setup(app: web.Application) -> None:
    app.router.add_routes(routes)
