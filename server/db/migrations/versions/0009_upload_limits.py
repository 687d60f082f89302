"""Uploads: the quota is reserved as bytes arrive, and an idle unfinished upload is forgotten.

``uploads.reserved_bytes`` is the part of the organisation's quota an upload
holds (before, every upload held its full length from creation: existing rows
keep exactly that); ``uploads.updated_at`` is when its bytes last arrived
(existing rows: when they were created).

Revision ID: 0009_upload_limits
Revises: 0008_org_consent
"""
from alembic import op
import sqlalchemy as sa

revision = '0009_upload_limits'
down_revision = '0008_org_consent'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN with constant defaults (SQLite accepts no other), then the true values.
    op.add_column('uploads', sa.Column('reserved_bytes', sa.BigInteger(), nullable=False, server_default='0'))
    op.add_column('uploads', sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False, server_default='1970-01-01 00:00:00+00:00'))
    op.execute("UPDATE uploads SET reserved_bytes = length, updated_at = created_at")
    op.create_index('ix_uploads_updated_at', 'uploads', ['updated_at'], unique=False)


def downgrade() -> None:
    # The old scheme held every unfinished upload's full length: take the rest of it back now.
    op.execute(
        "UPDATE org_storage SET reserved_bytes = reserved_bytes + coalesce(("
        "SELECT sum(length - reserved_bytes) FROM uploads WHERE uploads.org_id = org_storage.org_id AND file_id IS NULL), 0)"
    )
    op.drop_index('ix_uploads_updated_at', table_name='uploads')
    op.drop_column('uploads', 'updated_at')  # SQLite 3.35+ drops a column in place
    op.drop_column('uploads', 'reserved_bytes')
