"""rooms: livestream replays (HLS segments kept as a platform file)

Revision ID: 0008_replays
Revises: 0007_live
"""
from alembic import op
import sqlalchemy as sa

revision = '0008_replays'
down_revision = '0007_live'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('live_replays',
    sa.Column('id', ID, nullable=False),
    sa.Column('stream_id', ID, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('file_id', ID, nullable=True),
    sa.Column('playlist', sa.Text(), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('duration_ms', sa.BigInteger(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('org_id', ID, nullable=False),
    sa.ForeignKeyConstraint(['stream_id'], ['live_streams.id'], name=op.f('fk_live_replays_stream_id_live_streams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['file_id'], ['files.id'], name=op.f('fk_live_replays_file_id_files'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_live_replays_org_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_replays')),
    sa.UniqueConstraint('stream_id', name='uq_live_replays_stream_id')
    )
    with op.batch_alter_table('live_replays', schema=None) as batch_op:
        batch_op.create_index('ix_live_replays_expires_at', ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_live_replays_org_id'), ['org_id'], unique=False)


def downgrade() -> None:
    op.drop_table('live_replays')
