"""Invitations: an existing account joins another organisation only once it accepts.

Revision ID: 0008_org_consent
Revises: 0007_revocation
"""
from alembic import op
import sqlalchemy as sa

revision = '0008_org_consent'
down_revision = '0007_revocation'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('org_invitations',
    sa.Column('id', Id, nullable=False),
    sa.Column('user_id', Id, nullable=False),
    sa.Column('invited_by', Id, nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('department_id', Id, nullable=True),
    sa.Column('external_id', sa.String(length=128), nullable=True),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('org_id', Id, nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_org_invitations_department_id_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['invited_by'], ['users.id'], name=op.f('fk_org_invitations_invited_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_org_invitations_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_org_invitations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_org_invitations')),
    sa.UniqueConstraint('org_id', 'user_id', name='uq_org_invitations_org_user')
    )
    with op.batch_alter_table('org_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_org_invitations_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_org_invitations_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('org_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_org_invitations_user_id'))
        batch_op.drop_index(batch_op.f('ix_org_invitations_org_id'))
    op.drop_table('org_invitations')
