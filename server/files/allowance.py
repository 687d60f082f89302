"""What one uploader may have in flight: unfinished uploads per person (fewer bytes for guests), checked at creation.

The quota bounds what an organisation stores; these bound what one person
can start without finishing, so nobody can hold many large uploads open at
once. The new upload's row is written first, then the uploader's unfinished
uploads in the organisation are counted with it, and a creation past a limit
rolls back. Writing first takes SQLite's one write lock before counting;
PostgreSQL counts after locking the uploader's row (``FOR NO KEY UPDATE``). So
two creations by the same person, on two nodes or one, cannot both slip
under a limit.
"""
from __future__ import annotations

from sqlalchemy import func, select

from server.accounts.models import User
from server.config import Settings
from server.db import Transaction
from server.errors import TooLarge
from server.files.models import Upload
from server.orgs.access import OrgContext


def largest_upload(settings: Settings, org: OrgContext) -> int:
    return settings.guest_upload_max_bytes if org.principal.is_guest else settings.upload_max_bytes


def _unfinished_bytes_allowed(settings: Settings, org: OrgContext) -> int:
    if org.principal.is_guest:
        return settings.guest_upload_max_bytes
    return max(settings.upload_unfinished_bytes_per_person, settings.upload_max_bytes)


async def check_upload_allowance(tx: Transaction, settings: Settings, org: OrgContext) -> None:
    """Refuse (413, naming the limit) the caller's upload just written in ``tx`` if it takes them past their
    unfinished uploads' count or bytes."""
    if tx.dialect == "postgresql":
        await tx.session.execute(select(User.id).where(User.id == org.user_id).with_for_update(key_share=True))
    count, declared = (
        await tx.session.execute(
            select(func.count(), func.coalesce(func.sum(Upload.length), 0)).where(
                Upload.org_id == org.org_id, Upload.uploader_id == org.user_id, Upload.file_id.is_(None)
            )
        )
    ).one()
    if count > settings.upload_unfinished_per_person:
        raise TooLarge(
            "you have {count} unfinished uploads here, the most allowed (MUSTER_UPLOAD_UNFINISHED_PER_PERSON); "
            "finish or cancel one first",
            code="too_many_uploads",
            count=count - 1,
        )
    allowed = _unfinished_bytes_allowed(settings, org)
    if declared > allowed:
        raise TooLarge(
            "your unfinished uploads here would total {declared} bytes; at most {allowed} are allowed ({setting}); "
            "finish or cancel one first",
            code="too_many_upload_bytes",
            field="Upload-Length",
            declared=declared,
            allowed=allowed,
            setting="MUSTER_GUEST_UPLOAD_MAX_BYTES for guests" if org.principal.is_guest else "MUSTER_UPLOAD_UNFINISHED_BYTES_PER_PERSON",
        )
