"""Retention: each user's event stream remembers how far it was pruned, and jobs one node runs at a time hold a lease

Revision ID: 0023_retention
Revises: 0022_rounds

``user_stream_watermarks`` is written by the pruning job (server/gateway/pruning.py)
in the transaction that deletes a user's oldest events: a device that resumes
from at or below it is told to resync. ``job_leases`` holds, per job name, the
node that runs it and until when (server/leases.py). The indexes let the
pruning job find ended device sessions, remembered devices, sign-in links and notices read without a scan.
"""
from alembic import op
import sqlalchemy as sa

revision = '0023_retention'
down_revision = '0022_rounds'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('user_stream_watermarks',
    sa.Column('user_id', Id, nullable=False),
    sa.Column('pruned_through', Id, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_stream_watermarks_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_user_stream_watermarks'))
    )
    op.create_table('job_leases',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_leases'))
    )
    with op.batch_alter_table('device_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_device_sessions_expires_at', ['expires_at'], unique=False)
        batch_op.create_index('ix_device_sessions_revoked_at', ['revoked_at'], unique=False)
    with op.batch_alter_table('trusted_devices', schema=None) as batch_op:
        batch_op.create_index('ix_trusted_devices_expires_at', ['expires_at'], unique=False)
    with op.batch_alter_table('account_notices', schema=None) as batch_op:
        batch_op.create_index('ix_account_notices_read_at', ['read_at'], unique=False)
    with op.batch_alter_table('sign_in_links', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_links_expires_at', ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sign_in_links', schema=None) as batch_op:
        batch_op.drop_index('ix_sign_in_links_expires_at')
    with op.batch_alter_table('account_notices', schema=None) as batch_op:
        batch_op.drop_index('ix_account_notices_read_at')
    with op.batch_alter_table('trusted_devices', schema=None) as batch_op:
        batch_op.drop_index('ix_trusted_devices_expires_at')
    with op.batch_alter_table('device_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_device_sessions_revoked_at')
        batch_op.drop_index('ix_device_sessions_expires_at')
    op.drop_table('job_leases')
    op.drop_table('user_stream_watermarks')
