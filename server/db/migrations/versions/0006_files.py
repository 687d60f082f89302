"""Files: uploads, files and the storage counter belong to the platform, owned by a kind and an id (a group, a broadcast...).

group_files → files and group_uploads → uploads, with ``owner_kind`` ('group'
for every existing row) and ``owner_id`` (the group) instead of ``group_id``;
group_storage → org_storage. Ids, rows and the bytes on disk stay as they
are. On SQLite the foreign key of ``group_messages.file_id`` keeps its old
name: renaming it would mean rebuilding group_messages and its search
triggers. Downgrading drops the files (and uploads) of other owners.

Revision ID: 0006_files
Revises: 0005_groups_cjk_search
"""
from collections.abc import Callable

from alembic import op
import sqlalchemy as sa

revision = '0006_files'
down_revision = '0005_groups_cjk_search'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _org_storage(name: str) -> None:
    op.create_table(name,
    sa.Column('org_id', Id, nullable=False),
    sa.Column('reserved_bytes', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=f'fk_{name}_org_id_organisations', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_id', name=f'pk_{name}')
    )


def _files(name: str) -> None:
    op.create_table(name,
    sa.Column('id', Id, nullable=False),
    sa.Column('owner_kind', sa.String(length=32), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=True),
    sa.Column('uploader_id', Id, nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=128), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('storage_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('org_id', Id, nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name='fk_files_org_id_organisations', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploader_id'], ['users.id'], name='fk_files_uploader_id_users', ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name='pk_files')
    )
    op.create_index('ix_files_org_id', name, ['org_id'])
    op.create_index('ix_files_owner', name, ['owner_kind', 'owner_id'])


def _uploads(name: str) -> None:
    op.create_table(name,
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('owner_kind', sa.String(length=32), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=True),
    sa.Column('uploader_id', Id, nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=128), nullable=False),
    sa.Column('length', sa.BigInteger(), nullable=False),
    sa.Column('file_id', Id, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('org_id', Id, nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['files.id'], name='fk_uploads_file_id_files', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name='fk_uploads_org_id_organisations', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploader_id'], ['users.id'], name='fk_uploads_uploader_id_users', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name='pk_uploads')
    )
    op.create_index('ix_uploads_org_id', name, ['org_id'])
    op.create_index('ix_uploads_uploader_id', name, ['uploader_id'])


def _group_files(name: str) -> None:
    op.create_table(name,
    sa.Column('id', Id, nullable=False),
    sa.Column('group_id', Id, nullable=False),
    sa.Column('uploader_id', Id, nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=128), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('storage_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('org_id', Id, nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name='fk_group_files_group_id_groups', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name='fk_group_files_org_id_organisations', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploader_id'], ['users.id'], name='fk_group_files_uploader_id_users', ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name='pk_group_files')
    )
    op.create_index('ix_group_files_group_id', name, ['group_id'])
    op.create_index('ix_group_files_org_id', name, ['org_id'])


def _group_uploads(name: str) -> None:
    op.create_table(name,
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('group_id', Id, nullable=False),
    sa.Column('uploader_id', Id, nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=128), nullable=False),
    sa.Column('length', sa.BigInteger(), nullable=False),
    sa.Column('file_id', Id, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('org_id', Id, nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['group_files.id'], name='fk_group_uploads_file_id_group_files', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name='fk_group_uploads_group_id_groups', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name='fk_group_uploads_org_id_organisations', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploader_id'], ['users.id'], name='fk_group_uploads_uploader_id_users', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name='pk_group_uploads')
    )
    op.create_index('ix_group_uploads_org_id', name, ['org_id'])
    op.create_index('ix_group_uploads_uploader_id', name, ['uploader_id'])


def _move(old: str, new: str, create: Callable[[str], None], select: str, *,
          referenced_by: tuple[tuple[str, str, str], ...] = (), serial: bool = False) -> None:
    """Rows of table ``old`` into a table ``new`` made by ``create(name)``, ids kept; then ``old`` goes.

    ``select`` reads ``{source}`` in the new table's column order; ``serial``
    says ``id`` comes from a sequence (PostgreSQL).
    ``referenced_by`` lists (table, column, ON DELETE) of foreign keys on
    ``old.id``; they end up on ``new.id``. PostgreSQL drops and adds them;
    SQLite cannot, but rewrites every foreign key naming a table it renames,
    so there ``old`` is first renamed ``new`` and the copy is built under a
    temporary name that takes ``new`` once ``old`` is gone (as Alembic's batch
    mode does).
    """
    sqlite = op.get_bind().dialect.name == 'sqlite'
    source, target = old, new
    if sqlite and referenced_by:
        op.rename_table(old, new)
        source, target = new, f'_{new}_new'
    create(target)
    op.execute(f'INSERT INTO {target} {select.format(source=source)}')
    if not sqlite:
        for table, column, _ in referenced_by:
            op.drop_constraint(f'fk_{table}_{column}_{old}', table, type_='foreignkey')
    op.drop_table(source)
    if sqlite:
        if referenced_by:
            op.rename_table(target, new)
        return
    for table, column, ondelete in referenced_by:
        op.create_foreign_key(f'fk_{table}_{column}_{new}', table, new, [column], ['id'], ondelete=ondelete)
    if serial:  # ids were copied: the sequence goes on after the largest
        op.execute(f"SELECT setval(pg_get_serial_sequence('{new}', 'id'), COALESCE((SELECT MAX(id) FROM {new}), 0) + 1, false)")


def upgrade() -> None:
    _move('group_storage', 'org_storage', _org_storage, 'SELECT org_id, reserved_bytes FROM {source}')
    _move('group_files', 'files', _files,
          "SELECT id, 'group', group_id, uploader_id, filename, content_type, size, storage_key, created_at, org_id FROM {source}",
          referenced_by=(('group_messages', 'file_id', 'SET NULL'), ('group_uploads', 'file_id', 'CASCADE')), serial=True)
    _move('group_uploads', 'uploads', _uploads,
          "SELECT id, 'group', group_id, uploader_id, filename, content_type, length, file_id, created_at, org_id FROM {source}")


def downgrade() -> None:
    op.execute("DELETE FROM uploads WHERE owner_kind <> 'group'")
    op.execute("DELETE FROM files WHERE owner_kind <> 'group'")
    _move('files', 'group_files', _group_files,
          'SELECT id, owner_id, uploader_id, filename, content_type, size, storage_key, created_at, org_id FROM {source}',
          referenced_by=(('group_messages', 'file_id', 'SET NULL'), ('uploads', 'file_id', 'CASCADE')), serial=True)
    _move('uploads', 'group_uploads', _group_uploads,
          'SELECT id, owner_id, uploader_id, filename, content_type, length, file_id, created_at, org_id FROM {source}')
    # What each organisation holds without the files of other owners: its group files and its unfinished uploads (as 0004 counted).
    _org_storage('group_storage')
    op.execute(
        "INSERT INTO group_storage (org_id, reserved_bytes) "
        "SELECT org_id, SUM(size) FROM ("
        " SELECT org_id, size FROM group_files"
        " UNION ALL SELECT org_id, length AS size FROM group_uploads WHERE file_id IS NULL"
        ") held GROUP BY org_id"
    )
    op.drop_table('org_storage')
