"""Chinese and English: a person's chosen language; an organisation's time zone.

Revision ID: 0011_everyday
Revises: 0010_audit

Plain ADD and DROP COLUMNs (SQLite 3.35+), so SQLite keeps the tables (and the users table's trigger)
instead of rebuilding them.
"""
from alembic import op
import sqlalchemy as sa

revision = '0011_everyday'
down_revision = '0010_audit'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('users', sa.Column('locale', sa.String(length=16), nullable=True))
    op.add_column('organisations', sa.Column('time_zone', sa.String(length=64), nullable=False, server_default='Asia/Shanghai'))


def downgrade() -> None:
    op.drop_column('organisations', 'time_zone')
    op.drop_column('users', 'locale')
