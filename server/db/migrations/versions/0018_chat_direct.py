"""Groups: direct chats between two people (a group kind, one per pair); pushes held back in quiet hours, summed up after

Revision ID: 0018_chat_direct
Revises: 0020_phone_sign_in

``groups.kind`` is 'group' for every existing group; a direct chat has its
pair in ``direct_key``, unique per organisation (NULLs do not collide).
``quiet_summaries`` holds one row per person whose pushes waited for the end
of their quiet hours.
"""
from alembic import op
import sqlalchemy as sa

revision = '0018_chat_direct'
down_revision = '0020_phone_sign_in'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy on SQLite).
    op.add_column('groups', sa.Column('kind', sa.String(length=16), server_default='group', nullable=False))
    op.add_column('groups', sa.Column('direct_key', sa.String(length=48), nullable=True))
    op.create_index('uq_groups_org_direct_key', 'groups', ['org_id', 'direct_key'], unique=True)
    op.create_table('quiet_summaries',
    sa.Column('org_id', Id, nullable=False),
    sa.Column('user_id', Id, nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_quiet_summaries_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_quiet_summaries_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_id', 'user_id', name=op.f('pk_quiet_summaries'))
    )
    op.create_index('ix_quiet_summaries_due_at', 'quiet_summaries', ['due_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_quiet_summaries_due_at', table_name='quiet_summaries')
    op.drop_table('quiet_summaries')
    op.drop_index('uq_groups_org_direct_key', table_name='groups')
    op.drop_column('groups', 'direct_key')  # SQLite 3.35+ drops a column in place
    op.drop_column('groups', 'kind')
