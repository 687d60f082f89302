"""Form rounds: the calendar, recurrences, rounds with their respondents and counters, submissions, reminders, policies

Revision ID: 0022_rounds
Revises: 0018_chat_direct
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0022_rounds'
down_revision = '0018_chat_direct'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = sa.DateTime(timezone=True)
Json = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
Path = sa.String(length=1000).with_variant(sa.String(length=1000, collation='C'), 'postgresql')


def org(table: str) -> list:
    return [
        sa.Column('org_id', Id, nullable=False),
        sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=f'fk_{table}_org_id_organisations', ondelete='CASCADE'),
    ]


def by(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], ['users.id'], name=f'fk_{table}_{column}_users', ondelete='SET NULL')


def upgrade() -> None:
    op.create_table('calendar_days',
    sa.Column('id', Id, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    *org('calendar_days'),
    sa.PrimaryKeyConstraint('id', name='pk_calendar_days'),
    sa.UniqueConstraint('org_id', 'day', name='uq_calendar_days_org_day'),
    )
    op.create_index('ix_calendar_days_org_id', 'calendar_days', ['org_id'])
    op.create_table('form_policies',
    sa.Column('org_id', Id, nullable=False),
    sa.Column('retention_days', sa.Integer(), nullable=True),
    sa.Column('reminder_sms', sa.Boolean(), nullable=False),
    sa.Column('updated_at', When, nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name='fk_form_policies_org_id_organisations', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_id', name='pk_form_policies'),
    )
    op.create_table('round_schedules',
    sa.Column('id', Id, nullable=False),
    sa.Column('form_id', Id, nullable=False),
    sa.Column('audience', Json, nullable=False),
    sa.Column('respondent_kind', sa.String(length=32), nullable=False),
    sa.Column('days', sa.String(length=16), nullable=False),
    sa.Column('open_minute', sa.Integer(), nullable=False),
    sa.Column('open_minutes', sa.Integer(), nullable=False),
    sa.Column('remind_after', Json, nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('next_open_at', When, nullable=True),
    sa.Column('created_by', Id, nullable=True),
    sa.Column('created_at', When, nullable=False),
    sa.Column('stopped_at', When, nullable=True),
    *org('round_schedules'),
    by('round_schedules', 'created_by'),
    sa.ForeignKeyConstraint(['form_id'], ['forms.id'], name='fk_round_schedules_form_id_forms', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name='pk_round_schedules'),
    )
    op.create_index('ix_round_schedules_form_id', 'round_schedules', ['form_id'])
    op.create_index('ix_round_schedules_next_open_at', 'round_schedules', ['next_open_at'])
    op.create_index('ix_round_schedules_org_id', 'round_schedules', ['org_id'])
    op.create_table('form_rounds',
    sa.Column('id', Id, nullable=False),
    sa.Column('form_id', Id, nullable=False),
    sa.Column('version_id', Id, nullable=False),
    sa.Column('schedule_id', Id, nullable=True),
    sa.Column('audience', Json, nullable=False),
    sa.Column('respondent_kind', sa.String(length=32), nullable=False),
    sa.Column('opens_at', When, nullable=False),
    sa.Column('closes_at', When, nullable=False),
    sa.Column('expected', sa.Integer(), nullable=False),
    sa.Column('created_by', Id, nullable=True),
    sa.Column('created_at', When, nullable=False),
    sa.Column('opened_at', When, nullable=True),
    sa.Column('purged_at', When, nullable=True),
    *org('form_rounds'),
    by('form_rounds', 'created_by'),
    sa.ForeignKeyConstraint(['form_id'], ['forms.id'], name='fk_form_rounds_form_id_forms', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['schedule_id'], ['round_schedules.id'], name='fk_form_rounds_schedule_id_round_schedules', ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['version_id'], ['form_versions.id'], name='fk_form_rounds_version_id_form_versions', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name='pk_form_rounds'),
    )
    op.create_index('ix_form_rounds_org_form_opens', 'form_rounds', ['org_id', 'form_id', 'opens_at'])
    op.create_index('ix_form_rounds_org_id', 'form_rounds', ['org_id'])
    op.create_index('ix_form_rounds_schedule_id', 'form_rounds', ['schedule_id'])
    op.create_index('ix_form_rounds_version_id', 'form_rounds', ['version_id'])
    op.create_index('ix_form_rounds_to_open', 'form_rounds', ['opens_at'],
                    postgresql_where=sa.text('opened_at IS NULL'), sqlite_where=sa.text('opened_at IS NULL'))
    op.create_table('form_reminders',
    sa.Column('id', Id, nullable=False),
    sa.Column('round_id', Id, nullable=False),
    sa.Column('department_id', Id, nullable=True),
    sa.Column('due_at', When, nullable=False),
    sa.Column('created_by', Id, nullable=True),
    sa.Column('created_at', When, nullable=False),
    sa.Column('claimed_by', sa.String(length=200), nullable=True),
    sa.Column('claimed_at', When, nullable=True),
    sa.Column('progress_after', sa.BigInteger(), nullable=False),
    sa.Column('reminded', sa.Integer(), nullable=False),
    sa.Column('done_at', When, nullable=True),
    *org('form_reminders'),
    by('form_reminders', 'created_by'),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name='fk_form_reminders_department_id_departments', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['form_rounds.id'], name='fk_form_reminders_round_id_form_rounds', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name='pk_form_reminders'),
    )
    op.create_index('ix_form_reminders_due', 'form_reminders', ['due_at'],
                    postgresql_where=sa.text('done_at IS NULL'), sqlite_where=sa.text('done_at IS NULL'))
    op.create_index('ix_form_reminders_org_id', 'form_reminders', ['org_id'])
    op.create_index('ix_form_reminders_round_id', 'form_reminders', ['round_id'])
    op.create_table('form_submissions',
    sa.Column('id', Id, nullable=False),
    sa.Column('round_id', Id, nullable=False),
    sa.Column('respondent_id', sa.BigInteger(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('version_id', Id, nullable=False),
    sa.Column('answers', Json, nullable=False),
    sa.Column('abnormal', Json, nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('submitted_by', Id, nullable=True),
    sa.Column('created_at', When, nullable=False),
    sa.Column('updated_at', When, nullable=False),
    *org('form_submissions'),
    by('form_submissions', 'submitted_by'),
    sa.ForeignKeyConstraint(['round_id'], ['form_rounds.id'], name='fk_form_submissions_round_id_form_rounds', ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['form_versions.id'], name='fk_form_submissions_version_id_form_versions', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name='pk_form_submissions'),
    sa.UniqueConstraint('round_id', 'client_id', name='uq_form_submissions_round_client'),
    sa.UniqueConstraint('round_id', 'respondent_id', name='uq_form_submissions_round_respondent'),
    )
    op.create_index('ix_form_submissions_org_id', 'form_submissions', ['org_id'])
    op.create_index('ix_form_submissions_submitted_by', 'form_submissions', ['submitted_by'])
    op.create_table('round_counts',
    sa.Column('org_id', Id, nullable=False),
    sa.Column('round_id', Id, nullable=False),
    sa.Column('bucket', sa.BigInteger(), nullable=False),
    sa.Column('path', Path, nullable=False),
    sa.Column('expected', sa.Integer(), nullable=False),
    sa.Column('submitted', sa.Integer(), nullable=False),
    sa.Column('abnormal', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['form_rounds.id'], name='fk_round_counts_round_id_form_rounds', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', 'bucket', name='pk_round_counts'),
    )
    op.create_index('ix_round_counts_round_path', 'round_counts', ['round_id', 'path'])
    op.create_table('round_respondents',
    sa.Column('org_id', Id, nullable=False),
    sa.Column('round_id', Id, nullable=False),
    sa.Column('respondent_id', sa.BigInteger(), nullable=False),
    sa.Column('bucket', sa.BigInteger(), nullable=False),
    sa.Column('submitted', sa.Boolean(), nullable=False),
    sa.Column('abnormal', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['form_rounds.id'], name='fk_round_respondents_round_id_form_rounds', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', 'respondent_id', name='pk_round_respondents'),
    )
    op.create_index('ix_round_respondents_round_bucket', 'round_respondents', ['round_id', 'bucket'])


def downgrade() -> None:
    for table in ('round_respondents', 'round_counts', 'form_submissions', 'form_reminders', 'form_rounds', 'round_schedules',
                  'form_policies', 'calendar_days'):
        op.drop_table(table)
