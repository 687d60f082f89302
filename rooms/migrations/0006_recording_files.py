"""rooms: meeting recordings become platform files

Revision ID: 0006_recording_files
Revises: 0005_invitees

Each finished recording gets a ``files`` row (owner kind ``meeting_recording``)
counted in its organisation's storage; its bytes stay at the old path
(``meeting_recordings.file_name``, under ``{data_dir}/recordings/``) until a
node starts and moves them into ``{data_dir}/files/`` (a migration does not
know the data directory: rooms/meetings/recordings.py ``adopt_old_recordings``).
"""
import secrets
from collections import defaultdict

from alembic import op
import sqlalchemy as sa

revision = '0006_recording_files'
down_revision = '0005_invitees'
branch_labels = None
depends_on = '0006_files'  # the platform's files table

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
KIND = 'meeting_recording'


def upgrade() -> None:
    with op.batch_alter_table('meeting_recordings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('file_id', ID, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_meeting_recordings_file_id_files'), 'files', ['file_id'], ['id'], ondelete='SET NULL')
    recordings = sa.table(
        'meeting_recordings', sa.column('id', ID), sa.column('org_id', ID), sa.column('meeting_id', ID), sa.column('status', sa.String),
        sa.column('file_name', sa.String), sa.column('size_bytes', sa.BigInteger), sa.column('started_at', sa.DateTime(timezone=True)),
        sa.column('file_id', ID),
    )
    files = sa.table(
        'files', sa.column('id', ID), sa.column('org_id', ID), sa.column('owner_kind', sa.String), sa.column('owner_id', ID),
        sa.column('uploader_id', ID), sa.column('filename', sa.String), sa.column('content_type', sa.String),
        sa.column('size', sa.BigInteger), sa.column('storage_key', sa.String), sa.column('created_at', sa.DateTime(timezone=True)),
    )
    storage = sa.table('org_storage', sa.column('org_id', ID), sa.column('reserved_bytes', sa.BigInteger))
    bind = op.get_bind()
    done = bind.execute(sa.select(recordings).where(recordings.c.status == 'done', recordings.c.file_name != '')).all()
    held: dict[int, int] = defaultdict(int)
    for row in done:
        file_id = bind.execute(files.insert().values(
            org_id=row.org_id, owner_kind=KIND, owner_id=row.id, uploader_id=None,
            filename=f'meeting-{row.meeting_id}-recording-{row.id}.webm', content_type='video/webm', size=row.size_bytes,
            storage_key=secrets.token_hex(16), created_at=row.started_at,
        ).returning(files.c.id)).scalar_one()
        bind.execute(recordings.update().where(recordings.c.id == row.id).values(file_id=file_id))
        held[row.org_id] += row.size_bytes
    for org_id, size in sorted(held.items()):
        if bind.execute(sa.select(storage.c.org_id).where(storage.c.org_id == org_id)).first() is None:
            bind.execute(storage.insert().values(org_id=org_id, reserved_bytes=size))
        else:
            bind.execute(storage.update().where(storage.c.org_id == org_id).values(reserved_bytes=storage.c.reserved_bytes + size))


def downgrade() -> None:
    """The files rows go and their bytes leave the quota; the bytes stay in ``files/`` (a downgrade is for development)."""
    bind = op.get_bind()
    recordings = sa.table('meeting_recordings', sa.column('file_id', ID))
    files = sa.table('files', sa.column('id', ID), sa.column('org_id', ID), sa.column('owner_kind', sa.String), sa.column('size', sa.BigInteger))
    storage = sa.table('org_storage', sa.column('org_id', ID), sa.column('reserved_bytes', sa.BigInteger))
    held = bind.execute(sa.select(files.c.org_id, sa.func.sum(files.c.size)).where(files.c.owner_kind == KIND).group_by(files.c.org_id)).all()
    for org_id, size in held:
        bind.execute(storage.update().where(storage.c.org_id == org_id).values(reserved_bytes=storage.c.reserved_bytes - size))
    bind.execute(recordings.update().values(file_id=None))
    bind.execute(files.delete().where(files.c.owner_kind == KIND))
    with op.batch_alter_table('meeting_recordings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_meeting_recordings_file_id_files'), type_='foreignkey')
        batch_op.drop_column('file_id')
