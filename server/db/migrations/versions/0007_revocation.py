"""Revocation: a guest session remembers the invite it was opened through, so revoking the invite ends it.

Revision ID: 0007_revocation
Revises: 0006_files
"""
from alembic import op
import sqlalchemy as sa

revision = '0007_revocation'
down_revision = '0006_files'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('device_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guest_invite_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_index(batch_op.f('ix_device_sessions_guest_invite_id'), ['guest_invite_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('device_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_sessions_guest_invite_id'))
        batch_op.drop_column('guest_invite_id')
