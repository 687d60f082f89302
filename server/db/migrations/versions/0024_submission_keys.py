"""Form submissions keep no foreign keys and no index on the organisation alone; triggers do what the keys' actions did

Revision ID: 0024_submission_keys
Revises: 0022_rounds

The keys to the organisation, the round, the version and the submitter were
checked on every submission (an index lookup and a ``FOR KEY SHARE`` lock
each: the organisation's, the round's and the version's rows the same for a
whole city's submissions) for values the request takes from the round and
the caller. Triggers on the parents do what the keys' actions did: a round's
submissions go with it (and so with its form, its version and its
organisation, whose rounds cascade), and ``submitted_by`` becomes NULL with
the account. PostgreSQL's triggers are per statement, SQLite's per row. Every
query of submissions names the round, the submission or the submitter, so the
index on ``org_id`` served none.
"""
from alembic import op

revision = '0024_submission_keys'
down_revision = '0022_rounds'
branch_labels = None
depends_on = None

_KEYS = {  # name: (column, parent, action)
    'fk_form_submissions_org_id_organisations': ('org_id', 'organisations', 'CASCADE'),
    'fk_form_submissions_round_id_form_rounds': ('round_id', 'form_rounds', 'CASCADE'),
    'fk_form_submissions_version_id_form_versions': ('version_id', 'form_versions', 'CASCADE'),
    'fk_form_submissions_submitted_by_users': ('submitted_by', 'users', 'SET NULL'),
}
_POSTGRESQL = [
    """CREATE FUNCTION form_submissions_of_deleted_rounds() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM form_submissions s USING old_rounds r WHERE s.round_id = r.id;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER form_rounds_take_submissions AFTER DELETE ON form_rounds REFERENCING OLD TABLE AS old_rounds
    FOR EACH STATEMENT EXECUTE FUNCTION form_submissions_of_deleted_rounds()""",
    """CREATE FUNCTION form_submissions_of_deleted_users() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE form_submissions s SET submitted_by = NULL FROM old_users u WHERE s.submitted_by = u.id;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER users_leave_submissions AFTER DELETE ON users REFERENCING OLD TABLE AS old_users
    FOR EACH STATEMENT EXECUTE FUNCTION form_submissions_of_deleted_users()""",
]
_SQLITE = [
    """CREATE TRIGGER form_rounds_take_submissions AFTER DELETE ON form_rounds
    BEGIN DELETE FROM form_submissions WHERE round_id = old.id; END""",
    """CREATE TRIGGER users_leave_submissions AFTER DELETE ON users
    BEGIN UPDATE form_submissions SET submitted_by = NULL WHERE submitted_by = old.id; END""",
]


def upgrade() -> None:
    with op.batch_alter_table('form_submissions', schema=None) as batch_op:
        for name in _KEYS:
            batch_op.drop_constraint(name, type_='foreignkey')
        batch_op.drop_index('ix_form_submissions_org_id')
    for statement in _POSTGRESQL if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION form_submissions_of_deleted_users() CASCADE")
        op.execute("DROP FUNCTION form_submissions_of_deleted_rounds() CASCADE")
    else:  # a migration that rebuilt a parent table on SQLite (batch mode) took its trigger with it
        op.execute("DROP TRIGGER IF EXISTS users_leave_submissions")
        op.execute("DROP TRIGGER IF EXISTS form_rounds_take_submissions")
    op.execute("UPDATE form_submissions SET submitted_by = NULL WHERE submitted_by NOT IN (SELECT id FROM users)")
    op.execute("DELETE FROM form_submissions WHERE round_id NOT IN (SELECT id FROM form_rounds)")
    with op.batch_alter_table('form_submissions', schema=None) as batch_op:
        batch_op.create_index('ix_form_submissions_org_id', ['org_id'], unique=False)
        for name, (column, parent, action) in _KEYS.items():
            batch_op.create_foreign_key(name, parent, [column], ['id'], ondelete=action)
