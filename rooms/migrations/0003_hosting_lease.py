"""rooms: the hosting node's lease on a live meeting

Revision ID: 0003_hosting_lease
Revises: 0002_recordings
"""
from alembic import op
import sqlalchemy as sa

revision = '0003_hosting_lease'
down_revision = '0002_recordings'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hosting_seen_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('meetings', schema=None) as batch_op:
        batch_op.drop_column('hosting_seen_at')
