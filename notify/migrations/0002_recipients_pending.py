"""notify: a broadcast's recipient list kept pending until its rows are stored (after the devices were told)

Revision ID: 0002_recipients_pending
Revises: 0001_notify
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002_recipients_pending'
down_revision = '0001_notify'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipients_pending', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))
        batch_op.create_index('ix_broadcasts_recipients_pending', ['created_at'], unique=False,
                              postgresql_where=sa.text('recipients_pending IS NOT NULL'), sqlite_where=sa.text('recipients_pending IS NOT NULL'))


def downgrade() -> None:
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.drop_index('ix_broadcasts_recipients_pending', postgresql_where=sa.text('recipients_pending IS NOT NULL'),
                            sqlite_where=sa.text('recipients_pending IS NOT NULL'))
        batch_op.drop_column('recipients_pending')
