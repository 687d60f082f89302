"""rooms: meeting recordings

Revision ID: 0002_recordings
Revises: 0001_rooms
"""
from alembic import op
import sqlalchemy as sa

revision = '0002_recordings'
down_revision = '0001_rooms'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('meeting_recordings',
    sa.Column('id', ID, nullable=False),
    sa.Column('meeting_id', ID, nullable=False),
    sa.Column('started_by', ID, nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('video_frames', sa.Integer(), nullable=False),
    sa.Column('audio_packets', sa.Integer(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('org_id', ID, nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_meeting_recordings_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_meeting_recordings_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['started_by'], ['users.id'], name=op.f('fk_meeting_recordings_started_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_recordings'))
    )
    with op.batch_alter_table('meeting_recordings', schema=None) as batch_op:
        batch_op.create_index('ix_meeting_recordings_meeting', ['meeting_id', 'started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_recordings_org_id'), ['org_id'], unique=False)


def downgrade() -> None:
    op.drop_table('meeting_recordings')
