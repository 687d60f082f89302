"""schools: the rollover of a school year runs as a job and once per school and year (school_rollovers)

Jobs of the hierarchy (``school_import_jobs``) get a kind (import, rollover) and, for a rollover, its unit.
Family invitation links need no table: they are the platform's sign-in links.

Revision ID: 0004_family_links
Revises: 0001_schools
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004_family_links'
down_revision = '0001_schools'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('school_import_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='import', nullable=False))
        batch_op.add_column(sa.Column('unit_id', ID, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_school_import_jobs_unit_id_school_units'), 'school_units', ['unit_id'], ['department_id'],
                                    ondelete='SET NULL')

    op.create_table('school_rollovers',
    sa.Column('id', ID, nullable=False),
    sa.Column('school_id', ID, nullable=False),
    sa.Column('label', sa.String(length=40), nullable=False),
    sa.Column('job_id', ID, nullable=True),
    sa.Column('counts', JSON, nullable=False),
    sa.Column('done_at', WHEN, nullable=False),
    sa.Column('org_id', ID, nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_school_rollovers_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['school_units.department_id'], name=op.f('fk_school_rollovers_school_id_school_units'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['job_id'], ['school_import_jobs.id'], name=op.f('fk_school_rollovers_job_id_school_import_jobs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school_rollovers')),
    sa.UniqueConstraint('school_id', 'label', name='uq_school_rollovers_school_label')
    )
    op.create_index(op.f('ix_school_rollovers_org_id'), 'school_rollovers', ['org_id'], unique=False)


def downgrade() -> None:
    op.drop_table('school_rollovers')
    with op.batch_alter_table('school_import_jobs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_school_import_jobs_unit_id_school_units'), type_='foreignkey')
        batch_op.drop_column('unit_id')
        batch_op.drop_column('kind')
