"""Form submissions keep no foreign keys and no index on the organisation alone; triggers do what the keys' actions did

Revision ID: 0024_submission_keys
Revises: 0023_retention

The keys to the organisation, the round, the version and the submitter were
checked on every submission (an index lookup and a ``FOR KEY SHARE`` lock
each: the organisation's, the round's and the version's rows the same for a
whole city's submissions) for values the request takes from the round and
the caller. Triggers on the parents do what the keys' actions did: a round's
submissions go with it (and so with its form, its version and its
organisation, whose rounds cascade), and ``submitted_by`` becomes NULL with
the account (server/db/parent_triggers.py). Every query of submissions names
the round, the submission or the submitter, so the index on ``org_id`` served
none.
"""
from alembic import op

from server.db.parent_triggers import drop_on_parent_delete, on_parent_delete

revision = '0024_submission_keys'
down_revision = '0023_retention'
branch_labels = None
depends_on = None

_KEYS = {  # name: (column, parent, action)
    'fk_form_submissions_org_id_organisations': ('org_id', 'organisations', 'CASCADE'),
    'fk_form_submissions_round_id_form_rounds': ('round_id', 'form_rounds', 'CASCADE'),
    'fk_form_submissions_version_id_form_versions': ('version_id', 'form_versions', 'CASCADE'),
    'fk_form_submissions_submitted_by_users': ('submitted_by', 'users', 'SET NULL'),
}
_TRIGGERS = {  # name: (parent, column, set_null)
    'form_rounds_take_submissions': ('form_rounds', 'round_id', False),
    'users_leave_submissions': ('users', 'submitted_by', True),
}


def upgrade() -> None:
    with op.batch_alter_table('form_submissions', schema=None) as batch_op:
        for name in _KEYS:
            batch_op.drop_constraint(name, type_='foreignkey')
        batch_op.drop_index('ix_form_submissions_org_id')
    dialect = op.get_bind().dialect.name
    for name, (parent, column, set_null) in _TRIGGERS.items():
        for statement in on_parent_delete(dialect, name, parent=parent, child='form_submissions', column=column, set_null=set_null):
            op.execute(statement)


def downgrade() -> None:
    for name in _TRIGGERS:
        op.execute(drop_on_parent_delete(op.get_bind().dialect.name, name))
    op.execute("UPDATE form_submissions SET submitted_by = NULL WHERE submitted_by NOT IN (SELECT id FROM users)")
    op.execute("DELETE FROM form_submissions WHERE round_id NOT IN (SELECT id FROM form_rounds)")
    with op.batch_alter_table('form_submissions', schema=None) as batch_op:
        batch_op.create_index('ix_form_submissions_org_id', ['org_id'], unique=False)
        for name, (column, parent, action) in _KEYS.items():
            batch_op.create_foreign_key(name, parent, [column], ['id'], ondelete=action)
