"""rooms: meetings, co-hosts, attendance

Revision ID: 0001_rooms
Revises: (a branch of its own; needs 0001_platform)
"""
from alembic import op
import sqlalchemy as sa

revision = '0001_rooms'
down_revision = None
branch_labels = ('rooms',)
depends_on = '0001_platform'

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('meetings',
    sa.Column('id', ID, nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('host_id', ID, nullable=True),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('join_token', sa.String(length=64), nullable=False),
    sa.Column('passcode_hash', sa.String(length=64), nullable=True),
    sa.Column('passcode_failures', sa.Integer(), nullable=False),
    sa.Column('passcode_window_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.Column('lobby_enabled', sa.Boolean(), nullable=False),
    sa.Column('cap', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('hosting_node', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('org_id', ID, nullable=False),
    sa.ForeignKeyConstraint(['host_id'], ['users.id'], name=op.f('fk_meetings_host_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_meetings_org_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meetings')),
    sa.UniqueConstraint('join_token', name='uq_meetings_join_token')
    )
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.create_index('ix_meetings_org_scheduled', ['org_id', 'scheduled_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_meetings_org_id'), ['org_id'], unique=False)

    op.create_table('meeting_cohosts',
    sa.Column('id', ID, nullable=False),
    sa.Column('meeting_id', ID, nullable=False),
    sa.Column('user_id', ID, nullable=False),
    sa.Column('org_id', ID, nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_meeting_cohosts_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_meeting_cohosts_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_meeting_cohosts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_cohosts')),
    sa.UniqueConstraint('meeting_id', 'user_id', name='uq_meeting_cohosts_meeting_user')
    )
    with op.batch_alter_table('meeting_cohosts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_cohosts_org_id'), ['org_id'], unique=False)

    op.create_table('meeting_participants',
    sa.Column('id', ID, nullable=False),
    sa.Column('meeting_id', ID, nullable=False),
    sa.Column('user_id', ID, nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('org_id', ID, nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_meeting_participants_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_meeting_participants_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_meeting_participants_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_participants'))
    )
    with op.batch_alter_table('meeting_participants', schema=None) as batch_op:
        batch_op.create_index('ix_meeting_participants_meeting_left', ['meeting_id', 'left_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_participants_org_id'), ['org_id'], unique=False)


def downgrade() -> None:
    op.drop_table('meeting_participants')
    op.drop_table('meeting_cohosts')
    op.drop_table('meetings')
