"""rooms: a meeting's invitees and planned duration

Revision ID: 0005_invitees
Revises: 0004_passcode_attempts
"""
from alembic import op
import sqlalchemy as sa

revision = '0005_invitees'
down_revision = '0004_passcode_attempts'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('meeting_invitees',
    sa.Column('id', ID, nullable=False),
    sa.Column('meeting_id', ID, nullable=False),
    sa.Column('user_id', ID, nullable=False),
    sa.Column('org_id', ID, nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_meeting_invitees_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_meeting_invitees_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_meeting_invitees_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_invitees')),
    sa.UniqueConstraint('meeting_id', 'user_id', name='uq_meeting_invitees_meeting_user')
    )
    with op.batch_alter_table('meeting_invitees', schema=None) as batch_op:
        batch_op.create_index('ix_meeting_invitees_user', ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_invitees_org_id'), ['org_id'], unique=False)
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duration_min', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_column('duration_min')
    op.drop_table('meeting_invitees')
