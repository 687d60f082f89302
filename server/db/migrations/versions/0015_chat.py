"""Groups: a forwarded message says where it came from; a voice message carries its length.

Revision ID: 0015_chat
Revises: 0014_contacts
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0015_chat'
down_revision = '0014_contacts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy on SQLite, which would drop the search triggers of group_messages).
    op.add_column('group_messages', sa.Column('forwarded_from', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
    op.add_column('group_messages', sa.Column('duration_ms', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('group_messages', 'duration_ms')  # SQLite 3.35+ drops a column in place
    op.drop_column('group_messages', 'forwarded_from')
