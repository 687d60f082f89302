"""Groups: groups and members with read pointers, messages, reactions, pinned announcements and their opens, files, resumable uploads; full-text search of messages.

Revision ID: 0002_groups
Revises: 0001_platform
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002_groups'
down_revision = '0001_platform'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('groups',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('member_limit', sa.Integer(), nullable=False),
    sa.Column('allow_guests', sa.Boolean(), nullable=False),
    sa.Column('department_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_groups_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_groups_department_id_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_groups_org_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_groups'))
    )
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_groups_org_id'), ['org_id'], unique=False)

    op.create_table('group_files',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('group_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('uploader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=128), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('storage_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_group_files_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_group_files_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploader_id'], ['users.id'], name=op.f('fk_group_files_uploader_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_files'))
    )
    with op.batch_alter_table('group_files', schema=None) as batch_op:
        batch_op.create_index('ix_group_files_group_id', ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_group_files_org_id'), ['org_id'], unique=False)

    op.create_table('group_members',
    sa.Column('group_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('read_seq', sa.BigInteger(), nullable=False),
    sa.Column('muted', sa.Boolean(), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_group_members_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_group_members_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_group_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'user_id', name=op.f('pk_group_members'))
    )
    with op.batch_alter_table('group_members', schema=None) as batch_op:
        batch_op.create_index('ix_group_members_group_read_seq', ['group_id', 'read_seq'], unique=False)
        batch_op.create_index(batch_op.f('ix_group_members_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_group_members_user_id', ['user_id'], unique=False)

    op.create_table('group_messages',
    sa.Column('group_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('sender_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('reply_to_seq', sa.BigInteger(), nullable=True),
    sa.Column('mentions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('mention_all', sa.Boolean(), nullable=False),
    sa.Column('file_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recalled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['group_files.id'], name=op.f('fk_group_messages_file_id_group_files'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_group_messages_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_group_messages_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sender_id'], ['users.id'], name=op.f('fk_group_messages_sender_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('group_id', 'seq', name=op.f('pk_group_messages'))
    )
    with op.batch_alter_table('group_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_messages_org_id'), ['org_id'], unique=False)

    op.create_table('group_uploads',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('group_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('uploader_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=128), nullable=False),
    sa.Column('length', sa.BigInteger(), nullable=False),
    sa.Column('file_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['group_files.id'], name=op.f('fk_group_uploads_file_id_group_files'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_group_uploads_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_group_uploads_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploader_id'], ['users.id'], name=op.f('fk_group_uploads_uploader_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_uploads'))
    )
    with op.batch_alter_table('group_uploads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_uploads_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_group_uploads_uploader_id', ['uploader_id'], unique=False)

    op.create_table('group_announcements',
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('pinned_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('pinned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['group_id', 'seq'], ['group_messages.group_id', 'group_messages.seq'], name=op.f('fk_group_announcements_group_id_group_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_group_announcements_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pinned_by'], ['users.id'], name=op.f('fk_group_announcements_pinned_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('group_id', 'seq', name=op.f('pk_group_announcements'))
    )
    with op.batch_alter_table('group_announcements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_announcements_org_id'), ['org_id'], unique=False)

    op.create_table('group_reactions',
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('emoji', sa.String(length=32), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['group_id', 'seq'], ['group_messages.group_id', 'group_messages.seq'], name=op.f('fk_group_reactions_group_id_group_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_group_reactions_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_group_reactions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'seq', 'user_id', 'emoji', name=op.f('pk_group_reactions'))
    )
    with op.batch_alter_table('group_reactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_reactions_org_id'), ['org_id'], unique=False)

    op.create_table('group_announcement_opens',
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['group_id', 'seq'], ['group_announcements.group_id', 'group_announcements.seq'], name=op.f('fk_group_announcement_opens_group_id_group_announcements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_group_announcement_opens_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_group_announcement_opens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'seq', 'user_id', name=op.f('pk_group_announcement_opens'))
    )
    with op.batch_alter_table('group_announcement_opens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_announcement_opens_org_id'), ['org_id'], unique=False)

    _create_search_index()


def downgrade() -> None:
    _drop_search_index()
    with op.batch_alter_table('group_announcement_opens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_announcement_opens_org_id'))

    op.drop_table('group_announcement_opens')
    with op.batch_alter_table('group_reactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_reactions_org_id'))

    op.drop_table('group_reactions')
    with op.batch_alter_table('group_announcements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_announcements_org_id'))

    op.drop_table('group_announcements')
    with op.batch_alter_table('group_uploads', schema=None) as batch_op:
        batch_op.drop_index('ix_group_uploads_uploader_id')
        batch_op.drop_index(batch_op.f('ix_group_uploads_org_id'))

    op.drop_table('group_uploads')
    with op.batch_alter_table('group_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_messages_org_id'))

    op.drop_table('group_messages')
    with op.batch_alter_table('group_members', schema=None) as batch_op:
        batch_op.drop_index('ix_group_members_user_id')
        batch_op.drop_index(batch_op.f('ix_group_members_org_id'))
        batch_op.drop_index('ix_group_members_group_read_seq')

    op.drop_table('group_members')
    with op.batch_alter_table('group_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_files_org_id'))
        batch_op.drop_index('ix_group_files_group_id')

    op.drop_table('group_files')
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_groups_org_id'))

    op.drop_table('groups')


# Full-text search of message bodies (server/groups/search.py). PostgreSQL: a
# GIN index on the 'simple' configuration's tsvector, which the search query
# repeats verbatim so the planner uses it. SQLite: an FTS5 table kept in step
# by triggers (edits and recalls included). Its rowid is (group_id << 32) + seq,
# not group_messages' own rowid, which VACUUM may renumber on a table without
# an INTEGER PRIMARY KEY.
def _create_search_index() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_group_messages_body_fts ON group_messages USING gin (to_tsvector('simple', body))")
        return
    key = "((%(row)s.group_id << 32) + %(row)s.seq)"
    op.execute("CREATE VIRTUAL TABLE group_messages_fts USING fts5(body)")
    op.execute(
        "CREATE TRIGGER group_messages_fts_insert AFTER INSERT ON group_messages BEGIN "
        f"INSERT INTO group_messages_fts(rowid, body) VALUES ({key % {'row': 'new'}}, new.body); END"
    )
    op.execute(
        "CREATE TRIGGER group_messages_fts_delete AFTER DELETE ON group_messages BEGIN "
        f"DELETE FROM group_messages_fts WHERE rowid = {key % {'row': 'old'}}; END"
    )
    op.execute(
        "CREATE TRIGGER group_messages_fts_update AFTER UPDATE OF body ON group_messages BEGIN "
        f"UPDATE group_messages_fts SET body = new.body WHERE rowid = {key % {'row': 'old'}}; END"
    )


def _drop_search_index() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_group_messages_body_fts")
        return
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER group_messages_fts_{trigger}")
    op.execute("DROP TABLE group_messages_fts")
