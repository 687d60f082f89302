"""schools: units of the hierarchy, students, guardians, scoped roles, class groups, import jobs

Revision ID: 0001_schools
Revises: (a branch of its own; needs 0016_channels)
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001_schools'
down_revision = None
branch_labels = ('schools',)
depends_on = '0016_channels'

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
WHEN = sa.DateTime(timezone=True)


def _org(table: str) -> list:
    return [
        sa.Column('org_id', ID, nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f(f'fk_{table}_org_id_organisations'), ondelete='CASCADE'),
    ]


def upgrade() -> None:
    op.create_table('school_units',
    sa.Column('department_id', ID, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=True),
    sa.Column('level', sa.SmallInteger(), nullable=True),
    sa.Column('archived_at', WHEN, nullable=True),
    sa.Column('created_at', WHEN, nullable=False),
    *_org('school_units'),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_school_units_department_id_departments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('department_id', name=op.f('pk_school_units')),
    sa.UniqueConstraint('org_id', 'external_id', name='uq_school_units_org_external_id')
    )
    op.create_index(op.f('ix_school_units_org_id'), 'school_units', ['org_id'], unique=False)
    op.create_index('ix_school_units_org_kind', 'school_units', ['org_id', 'kind'], unique=False)

    op.create_table('school_students',
    sa.Column('id', ID, nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('class_id', ID, nullable=True),
    sa.Column('archived_at', WHEN, nullable=True),
    sa.Column('archived_reason', sa.String(length=16), nullable=True),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('updated_at', WHEN, nullable=False),
    *_org('school_students'),  # no index of its own: the two below start with org_id
    sa.ForeignKeyConstraint(['class_id'], ['school_units.department_id'], name=op.f('fk_school_students_class_id_school_units'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school_students')),
    sa.UniqueConstraint('org_id', 'external_id', name='uq_school_students_org_external_id')
    )
    op.create_index('ix_school_students_org_class', 'school_students', ['org_id', 'class_id', 'id'], unique=False)

    op.create_table('school_guardians',
    sa.Column('id', ID, nullable=False),
    sa.Column('user_id', ID, nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('match_key', sa.String(length=330), nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    *_org('school_guardians'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_school_guardians_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school_guardians')),
    sa.UniqueConstraint('org_id', 'match_key', name='uq_school_guardians_org_match_key')
    )
    op.create_index('ix_school_guardians_user_id', 'school_guardians', ['user_id'], unique=False)

    op.create_table('school_student_guardians',
    sa.Column('student_id', ID, nullable=False),
    sa.Column('guardian_id', ID, nullable=False),
    sa.Column('relation', sa.String(length=32), nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('org_id', ID, nullable=False),  # no foreign key: a link goes with its child and its guardian
    sa.ForeignKeyConstraint(['guardian_id'], ['school_guardians.id'], name=op.f('fk_school_student_guardians_guardian_id_school_guardians'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['school_students.id'], name=op.f('fk_school_student_guardians_student_id_school_students'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('student_id', 'guardian_id', name=op.f('pk_school_student_guardians'))
    )
    op.create_index('ix_school_student_guardians_guardian', 'school_student_guardians', ['guardian_id'], unique=False)

    op.create_table('school_unit_roles',
    sa.Column('id', ID, nullable=False),
    sa.Column('unit_id', ID, nullable=False),
    sa.Column('user_id', ID, nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=100), nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    *_org('school_unit_roles'),
    sa.ForeignKeyConstraint(['unit_id'], ['school_units.department_id'], name=op.f('fk_school_unit_roles_unit_id_school_units'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_school_unit_roles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school_unit_roles')),
    sa.UniqueConstraint('unit_id', 'user_id', 'role', name='uq_school_unit_roles_unit_user_role')
    )
    op.create_index(op.f('ix_school_unit_roles_org_id'), 'school_unit_roles', ['org_id'], unique=False)
    op.create_index('ix_school_unit_roles_org_user', 'school_unit_roles', ['org_id', 'user_id'], unique=False)

    op.create_table('school_class_groups',
    sa.Column('class_id', ID, nullable=False),
    sa.Column('group_id', ID, nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    *_org('school_class_groups'),
    sa.ForeignKeyConstraint(['class_id'], ['school_units.department_id'], name=op.f('fk_school_class_groups_class_id_school_units'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_school_class_groups_group_id_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('class_id', name=op.f('pk_school_class_groups')),
    sa.UniqueConstraint('group_id', name='uq_school_class_groups_group_id')
    )
    op.create_index(op.f('ix_school_class_groups_org_id'), 'school_class_groups', ['org_id'], unique=False)

    op.create_table('school_import_jobs',
    sa.Column('id', ID, nullable=False),
    sa.Column('started_by', ID, nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('files', JSON, nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('report', JSON, nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('updated_at', WHEN, nullable=False),
    sa.Column('finished_at', WHEN, nullable=True),
    *_org('school_import_jobs'),
    sa.ForeignKeyConstraint(['started_by'], ['users.id'], name=op.f('fk_school_import_jobs_started_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school_import_jobs'))
    )
    op.create_index('ix_school_import_jobs_org_created', 'school_import_jobs', ['org_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_school_import_jobs_org_id'), 'school_import_jobs', ['org_id'], unique=False)


def downgrade() -> None:
    for table in ('school_import_jobs', 'school_class_groups', 'school_unit_roles', 'school_student_guardians', 'school_guardians',
                  'school_students', 'school_units'):
        op.drop_table(table)
