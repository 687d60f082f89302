"""rooms: clinics, their doctors and consultations

Revision ID: 0009_consultations
Revises: 0008_replays
"""
from alembic import op
import sqlalchemy as sa

revision = '0009_consultations'
down_revision = '0008_replays'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _org(table: str) -> list:
    return [
        sa.Column('org_id', ID, nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f(f'fk_{table}_org_id_organisations'), ondelete='CASCADE'),
    ]


def upgrade() -> None:
    op.create_table('clinics',
    sa.Column('id', ID, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('link_token', sa.String(length=64), nullable=False),
    sa.Column('created_by', ID, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    *_org('clinics'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_clinics_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clinics')),
    sa.UniqueConstraint('link_token', name='uq_clinics_link_token')
    )
    with op.batch_alter_table('clinics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clinics_org_id'), ['org_id'], unique=False)

    op.create_table('clinic_doctors',
    sa.Column('id', ID, nullable=False),
    sa.Column('clinic_id', ID, nullable=False),
    sa.Column('user_id', ID, nullable=False),
    *_org('clinic_doctors'),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_clinic_doctors_clinic_id_clinics'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_clinic_doctors_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clinic_doctors')),
    sa.UniqueConstraint('clinic_id', 'user_id', name='uq_clinic_doctors_clinic_user')
    )
    with op.batch_alter_table('clinic_doctors', schema=None) as batch_op:
        batch_op.create_index('ix_clinic_doctors_user', ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_clinic_doctors_org_id'), ['org_id'], unique=False)

    op.create_table('consultations',
    sa.Column('id', ID, nullable=False),
    sa.Column('clinic_id', ID, nullable=False),
    sa.Column('patient_id', ID, nullable=True),
    sa.Column('patient_name', sa.String(length=100), nullable=False),
    sa.Column('patient_phone', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('away_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('doctor_id', ID, nullable=True),
    sa.Column('meeting_id', ID, nullable=True),
    sa.Column('called_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    *_org('consultations'),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinics.id'], name=op.f('fk_consultations_clinic_id_clinics'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['patient_id'], ['users.id'], name=op.f('fk_consultations_patient_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['doctor_id'], ['users.id'], name=op.f('fk_consultations_doctor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['meeting_id'], ['meetings.id'], name=op.f('fk_consultations_meeting_id_meetings'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consultations'))
    )
    with op.batch_alter_table('consultations', schema=None) as batch_op:
        batch_op.create_index('ix_consultations_clinic_status_queued', ['clinic_id', 'status', 'queued_at'], unique=False)
        batch_op.create_index('ix_consultations_clinic_ended', ['clinic_id', 'ended_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_consultations_org_id'), ['org_id'], unique=False)


def downgrade() -> None:
    op.drop_table('consultations')
    op.drop_table('clinic_doctors')
    op.drop_table('clinics')
