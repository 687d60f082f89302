"""Groups: a change number per group (posts, edits, recalls, reactions) stamped on each message, so a device syncs changes too.

Revision ID: 0003_groups_changes
Revises: 0002_groups
"""
from alembic import op
import sqlalchemy as sa

revision = '0003_groups_changes'
down_revision = '0002_groups'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy on SQLite, which would drop the search triggers of group_messages).
    op.add_column('groups', sa.Column('last_change_seq', sa.BigInteger(), nullable=False, server_default='0'))
    op.add_column('group_messages', sa.Column('change_seq', sa.BigInteger(), nullable=False, server_default='0'))
    # Existing messages count as changed when posted: their change number is their sequence number.
    op.execute("UPDATE group_messages SET change_seq = seq")
    op.execute("UPDATE groups SET last_change_seq = last_seq")
    op.create_index('ix_group_messages_group_change_seq', 'group_messages', ['group_id', 'change_seq'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_group_messages_group_change_seq', table_name='group_messages')
    op.drop_column('group_messages', 'change_seq')  # SQLite 3.35+ drops a column in place
    op.drop_column('groups', 'last_change_seq')
