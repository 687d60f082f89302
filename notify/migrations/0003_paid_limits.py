"""notify: daily counters of SMS and calls reserved per organisation, per number and per client address

Revision ID: 0003_paid_limits
Revises: 0002_recipients_pending
"""
from alembic import op
import sqlalchemy as sa

revision = '0003_paid_limits'
down_revision = '0002_recipients_pending'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notify_paid_usage',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'channel', 'scope', 'key', name=op.f('pk_notify_paid_usage'))
    )


def downgrade() -> None:
    op.drop_table('notify_paid_usage')
