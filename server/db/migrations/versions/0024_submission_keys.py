"""Form submissions keep one foreign key, to their round, and no index on the organisation alone

Revision ID: 0024_submission_keys
Revises: 0022_rounds

The keys to the organisation, the version and the submitter were checked on
every submission (an index lookup and a ``FOR KEY SHARE`` lock each: the
organisation's and the version's rows the same for every submission of a
round). A submission goes with its round (and so with its form and
organisation); the submitter is cleared with their account
(server/accounts/deletion.py). Every query of submissions names the round, the
submission or the submitter, so the index on ``org_id`` served none.
"""
from alembic import op

revision = '0024_submission_keys'
down_revision = '0022_rounds'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('form_submissions', schema=None) as batch_op:
        batch_op.drop_constraint('fk_form_submissions_org_id_organisations', type_='foreignkey')
        batch_op.drop_constraint('fk_form_submissions_version_id_form_versions', type_='foreignkey')
        batch_op.drop_constraint('fk_form_submissions_submitted_by_users', type_='foreignkey')
        batch_op.drop_index('ix_form_submissions_org_id')


def downgrade() -> None:
    op.execute("UPDATE form_submissions SET submitted_by = NULL WHERE submitted_by NOT IN (SELECT id FROM users)")
    with op.batch_alter_table('form_submissions', schema=None) as batch_op:
        batch_op.create_index('ix_form_submissions_org_id', ['org_id'], unique=False)
        batch_op.create_foreign_key('fk_form_submissions_submitted_by_users', 'users', ['submitted_by'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key('fk_form_submissions_version_id_form_versions', 'form_versions', ['version_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key('fk_form_submissions_org_id_organisations', 'organisations', ['org_id'], ['id'], ondelete='CASCADE')
