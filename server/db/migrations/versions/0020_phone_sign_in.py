"""Sign-in by phone: one-time codes sent by SMS, an organisation's choice to offer it, sign-in links issued by capabilities

Revision ID: 0020_phone_sign_in
Revises: 0017_forms
"""
from alembic import op
import sqlalchemy as sa

revision = '0020_phone_sign_in'
down_revision = '0017_forms'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_sign_in', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table('phone_codes',
    sa.Column('id', Id, nullable=False),
    sa.Column('org_id', Id, nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_phone_codes_org_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phone_codes'))
    )
    with op.batch_alter_table('phone_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phone_codes_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_phone_codes_phone_created_at', ['phone', 'created_at'], unique=False)
        batch_op.create_index('ix_phone_codes_address_created_at', ['address', 'created_at'], unique=False)
        batch_op.create_index('ix_phone_codes_org_id_created_at', ['org_id', 'created_at'], unique=False)
        batch_op.create_index('ix_phone_codes_created_at', ['created_at'], unique=False)
    op.create_table('sign_in_links',
    sa.Column('id', Id, nullable=False),
    sa.Column('org_id', Id, nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('subject_id', Id, nullable=False),
    sa.Column('created_by', Id, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('max_uses', sa.Integer(), nullable=True),
    sa.Column('uses', sa.Integer(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_sign_in_links_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_sign_in_links_org_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_sign_in_links_token_hash'))
    )
    with op.batch_alter_table('sign_in_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_links_org_id'), ['org_id'], unique=False)


def downgrade() -> None:
    op.drop_table('sign_in_links')
    op.drop_table('phone_codes')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('phone_sign_in')
