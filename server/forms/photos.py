"""Photos answering a form's photo fields: the platform's files, of the owner kind ``form``.

    POST /api/v1/orgs/{org_id}/form-photos     tus creation (any member, and outsiders a rule admits): an image, attached to nothing yet

A respondent uploads the photo first (it needs a connection: the offline
queue keeps answers, not images) and answers the field with the file id the
last PATCH returns (``Muster-File-Id``). The submission that names it calls
``do_attach_photos`` in its own transaction, which gives each photo to that
submission (``owner_id``), once: a photo already given to another submission,
or uploaded by someone else, is refused.

Who may upload: any member; an outsider of the organisation (a guardian)
only if a rule registered with ``register_form_photo_uploaders`` admits them
(rounds: someone who answers for a respondent of a round open now), else 404.
Who may read a photo (``may_read``): before it is attached only its
uploader; then its uploader (who submitted) and whoever a rule registered
with ``register_form_photo_readers`` admits: the part that keeps submissions
knows the respondent and who may see individual answers.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy import select

from server.api import endpoint
from server.db import Transaction
from server.errors import Conflict, InvalidInput, NotFound, UnsupportedMediaType
from server.files.models import StoredFile
from server.files.owners import FileOwner
from server.files.routes import INLINE_TYPES
from server.files.storage import do_attach_files
from server.files.tus import create_upload, parse_metadata
from server.forms.definition import FormDefinition
from server.orgs.access import OrgContext

FORM_PHOTOS = "form"  # the owner kind of photos answering forms

PhotoReaders = Callable[[Transaction, OrgContext, int], Awaitable[bool]]  # (tx, caller, owner id) → may the caller read its photos?
PHOTO_READERS = web.AppKey("form_photo_readers", list[PhotoReaders])
PhotoUploaders = Callable[[Transaction, OrgContext], Awaitable[bool]]  # (tx, an outsider) → may they upload a photo to answer with?
PHOTO_UPLOADERS = web.AppKey("form_photo_uploaders", list[PhotoUploaders])

routes = web.RouteTableDef()


def register_form_photo_readers(app: web.Application, rule: PhotoReaders) -> None:
    app.setdefault(PHOTO_READERS, []).append(rule)


def register_form_photo_uploaders(app: web.Application, rule: PhotoUploaders) -> None:
    app.setdefault(PHOTO_UPLOADERS, []).append(rule)


@routes.post("/api/v1/orgs/{org_id}/form-photos")
@endpoint(status=201, external=True)
async def create_photo_upload(request: web.Request, org: OrgContext) -> web.Response:
    """tus creation of a photo to answer a form's photo field with (PNG, JPEG, GIF or WebP); its file id is the answer."""
    filetype = parse_metadata(request.headers.get("Upload-Metadata", "")).get("filetype", "")
    if filetype not in INLINE_TYPES:
        raise UnsupportedMediaType("a form photo must be a PNG, JPEG, GIF or WebP image (Upload-Metadata 'filetype')", field="Upload-Metadata")

    async def attached_later(tx: Transaction) -> None:
        """Any member, an outsider a rule admits; the photo belongs to no submission until one names it."""
        if org.membership_id is None:
            for rule in request.app.get(PHOTO_UPLOADERS, ()):
                if await rule(tx, org):
                    return
            raise NotFound("no such organisation")

    return await create_upload(request, org, FORM_PHOTOS, attached_later)


async def do_attach_photos(tx: Transaction, org: OrgContext, definition: FormDefinition, values: dict, owner_id: int) -> None:
    """Give the photos a submission's checked answers name to it (``owner_id``); an edit may keep the ones it has."""
    wanted = {values[f.name]: f.name for f in definition.fields if f.type == "photo" and f.name in values}
    if not wanted:
        return
    rows = {f.id: f for f in await tx.session.scalars(select(StoredFile).where(StoredFile.id.in_(wanted)))}
    loose = []
    for file_id, name in wanted.items():
        file = rows.get(file_id)
        if file is None or file.owner_kind != FORM_PHOTOS or (file.owner_id is None and file.uploader_id != org.user_id):
            raise InvalidInput("{name}: no photo of yours has the id {file_id}", field=name, name=name, file_id=file_id)
        if file.owner_id is None:
            loose.append(file_id)
        elif file.owner_id != owner_id:
            raise Conflict("{name}: this photo answers another submission: upload it again", field=name, code="already_attached", name=name)
    if len(await do_attach_files(tx, FORM_PHOTOS, loose, owner_id)) != len(loose):
        raise Conflict("a photo was given to another submission meanwhile: upload it again", code="already_attached")


def photo_owner(app: web.Application) -> FileOwner:
    async def may_read(tx: Transaction, org: OrgContext, file: StoredFile) -> bool:
        if file.uploader_id == org.user_id:
            return True
        if file.owner_id is None:
            return False
        for rule in app.get(PHOTO_READERS, ()):
            if await rule(tx, org, file.owner_id):
                return True
        return False

    return FileOwner(FORM_PHOTOS, may_read=may_read, outsiders=True)  # a guardian reads the photo they answered with
