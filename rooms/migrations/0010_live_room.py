"""rooms: a livestream's room: chat, attendance, raised hands, removed viewers, likes

Revision ID: 0010_live_room
Revises: 0009_consultations
"""
from alembic import op
import sqlalchemy as sa

revision = '0010_live_room'
down_revision = '0009_consultations'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _scoped(name: str, *columns, **indexes) -> None:
    """A table of one stream's rows: its id, org_id and stream_id with their foreign keys, then ``columns``."""
    op.create_table(name,
    sa.Column('id', ID, nullable=False),
    sa.Column('stream_id', ID, nullable=False),
    *columns,
    sa.Column('org_id', ID, nullable=False),
    sa.ForeignKeyConstraint(['stream_id'], ['live_streams.id'], name=op.f(f'fk_{name}_stream_id_live_streams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f(f'fk_{name}_org_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{name}')),
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f'ix_{name}_org_id'), ['org_id'], unique=False)
        for index, columns in indexes.items():
            batch_op.create_index(index, columns, unique=False)


def _user(name: str, table: str, ondelete: str, nullable: bool):
    return [sa.Column(name, ID, nullable=nullable),
            sa.ForeignKeyConstraint([name], ['users.id'], name=op.f(f'fk_{table}_{name}_users'), ondelete=ondelete)]


def upgrade() -> None:
    with op.batch_alter_table('live_streams', schema=None) as batch_op:
        batch_op.add_column(sa.Column('likes', sa.BigInteger(), nullable=False, server_default='0'))
    _scoped('live_chat_messages',
            *_user('user_id', 'live_chat_messages', 'SET NULL', True),
            sa.Column('name', sa.String(length=200), nullable=False),
            sa.Column('text', sa.String(length=1000), nullable=False),
            sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
            sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
            *_user('removed_by', 'live_chat_messages', 'SET NULL', True),
            ix_live_chat_stream=['stream_id', 'id'], ix_live_chat_author=['stream_id', 'user_id', 'created_at'])
    _scoped('live_attendance',
            *_user('user_id', 'live_attendance', 'CASCADE', False),
            sa.Column('name', sa.String(length=200), nullable=False),
            sa.Column('guest', sa.Boolean(), nullable=False),
            sa.Column('kind', sa.String(length=8), nullable=False),
            sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
            sa.Column('left_at', sa.DateTime(timezone=True), nullable=False),
            sa.Column('closed', sa.Boolean(), nullable=False),
            ix_live_attendance_person=['stream_id', 'user_id', 'kind', 'left_at'], ix_live_attendance_recent=['stream_id', 'kind', 'left_at'])
    _scoped('live_hands',
            *_user('user_id', 'live_hands', 'CASCADE', False),
            sa.Column('name', sa.String(length=200), nullable=False),
            sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
            sa.UniqueConstraint('stream_id', 'user_id', name='uq_live_hands_person'),
            ix_live_hands_queue=['stream_id', 'raised_at'])
    _scoped('live_removals',
            *_user('user_id', 'live_removals', 'CASCADE', False),
            *_user('removed_by', 'live_removals', 'SET NULL', True),
            sa.Column('removed_at', sa.DateTime(timezone=True), nullable=False),
            sa.UniqueConstraint('stream_id', 'user_id', name='uq_live_removals_person'))


def downgrade() -> None:
    for name in ('live_removals', 'live_hands', 'live_attendance', 'live_chat_messages'):
        op.drop_table(name)
    with op.batch_alter_table('live_streams', schema=None) as batch_op:
        batch_op.drop_column('likes')
