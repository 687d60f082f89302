"""Forms: a form and its numbered versions (the definition each submission is checked against)

Revision ID: 0017_forms
Revises: 0016_channels
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0017_forms'
down_revision = '0016_channels'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table('forms',
    sa.Column('id', Id, nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('created_by', Id, nullable=True),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('created_at', When, nullable=False),
    sa.Column('archived_at', When, nullable=True),
    sa.Column('org_id', Id, nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_forms_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_forms_org_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forms'))
    )
    op.create_index(op.f('ix_forms_org_id'), 'forms', ['org_id'], unique=False)
    op.create_table('form_versions',
    sa.Column('id', Id, nullable=False),
    sa.Column('form_id', Id, nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('definition', Json, nullable=False),
    sa.Column('created_by', Id, nullable=True),
    sa.Column('created_at', When, nullable=False),
    sa.Column('org_id', Id, nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_form_versions_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['form_id'], ['forms.id'], name=op.f('fk_form_versions_form_id_forms'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_form_versions_org_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_versions')),
    sa.UniqueConstraint('form_id', 'number', name=op.f('uq_form_versions_form_id'))
    )
    op.create_index(op.f('ix_form_versions_form_id'), 'form_versions', ['form_id'], unique=False)
    op.create_index(op.f('ix_form_versions_org_id'), 'form_versions', ['org_id'], unique=False)


def downgrade() -> None:
    op.drop_table('form_versions')
    op.drop_table('forms')
