"""rooms: wrong meeting passcodes counted per address or person, not per meeting

Revision ID: 0004_passcode_attempts
Revises: 0003_hosting_lease
"""
from alembic import op
import sqlalchemy as sa

revision = '0004_passcode_attempts'
down_revision = '0003_hosting_lease'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('meeting_passcode_failures',
    sa.Column('id', ID, nullable=False),
    sa.Column('meeting_id', ID, nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('org_id', ID, nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_meeting_passcode_failures_meeting_id_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_meeting_passcode_failures_org_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_passcode_failures'))
    )
    with op.batch_alter_table('meeting_passcode_failures', schema=None) as batch_op:
        batch_op.create_index('ix_meeting_passcode_failures_meeting_key_at', ['meeting_id', 'key', 'at'], unique=False)
        batch_op.create_index('ix_meeting_passcode_failures_at', ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_passcode_failures_org_id'), ['org_id'], unique=False)
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_column('passcode_window_at')
        batch_op.drop_column('passcode_failures')


def downgrade() -> None:
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('passcode_failures', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('passcode_window_at', sa.DateTime(timezone=True), nullable=True))
    op.drop_table('meeting_passcode_failures')
