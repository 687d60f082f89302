"""rooms: class livestreams

Revision ID: 0007_live
Revises: 0006_recording_files
"""
from alembic import op
import sqlalchemy as sa

revision = '0007_live'
down_revision = '0006_recording_files'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('live_streams',
    sa.Column('id', ID, nullable=False),
    sa.Column('group_id', ID, nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('host_id', ID, nullable=True),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('allow_guests', sa.Boolean(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=True),
    sa.Column('publisher_id', sa.String(length=64), nullable=True),
    sa.Column('publisher_node', sa.String(length=200), nullable=True),
    sa.Column('publisher_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('org_id', ID, nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_live_streams_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['host_id'], ['users.id'], name=op.f('fk_live_streams_host_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_live_streams_org_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_streams'))
    )
    with op.batch_alter_table('live_streams', schema=None) as batch_op:
        batch_op.create_index('ix_live_streams_group', ['group_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_live_streams_org_id'), ['org_id'], unique=False)


def downgrade() -> None:
    op.drop_table('live_streams')
