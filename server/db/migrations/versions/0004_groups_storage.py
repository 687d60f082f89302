"""Groups: one storage row per organisation (files plus uploads in progress), so quota reservations are atomic.

Revision ID: 0004_groups_storage
Revises: 0003_groups_changes
"""
from alembic import op
import sqlalchemy as sa

revision = '0004_groups_storage'
down_revision = '0003_groups_changes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('group_storage',
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reserved_bytes', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_group_storage_org_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_id', name=op.f('pk_group_storage'))
    )
    # What each organisation holds today: its files and the full length of its unfinished uploads.
    op.execute(
        "INSERT INTO group_storage (org_id, reserved_bytes) "
        "SELECT org_id, SUM(size) FROM ("
        " SELECT org_id, size FROM group_files"
        " UNION ALL SELECT org_id, length AS size FROM group_uploads WHERE file_id IS NULL"
        ") held GROUP BY org_id"
    )


def downgrade() -> None:
    op.drop_table('group_storage')
