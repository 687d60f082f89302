"""notify: a broadcast's recipient rows keep no foreign keys; triggers delete them with their broadcast or person

Revision ID: 0006_recipient_keys
Revises: 0005_channels

PostgreSQL checked the three keys (broadcast, organisation, user) for each of
a notice's rows, 480,000 for a city: at that size 54-58 s of the insert's
~14 s without them on the shared machine (bench/RESULTS.md "health"). The
rows are valid by construction; what the keys' cascades did, triggers on the
parents do when a row there is deleted: a broadcast's recipients go with it
(and so with its organisation, whose broadcasts cascade), a person's with
their account. PostgreSQL's triggers are per statement, SQLite's per row.
Every query of the rows names the broadcast or the user, so the index on
``org_id`` alone served none.
"""
from alembic import op

revision = '0006_recipient_keys'
down_revision = '0005_channels'
branch_labels = None
depends_on = None

_POSTGRESQL = [
    """CREATE FUNCTION broadcast_recipients_of_deleted_broadcasts() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM broadcast_recipients r USING old_broadcasts b WHERE r.broadcast_id = b.id;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER broadcasts_take_recipients AFTER DELETE ON broadcasts REFERENCING OLD TABLE AS old_broadcasts
    FOR EACH STATEMENT EXECUTE FUNCTION broadcast_recipients_of_deleted_broadcasts()""",
    """CREATE FUNCTION broadcast_recipients_of_deleted_users() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM broadcast_recipients r USING old_users u WHERE r.user_id = u.id;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER users_take_broadcast_recipients AFTER DELETE ON users REFERENCING OLD TABLE AS old_users
    FOR EACH STATEMENT EXECUTE FUNCTION broadcast_recipients_of_deleted_users()""",
]
_SQLITE = [
    """CREATE TRIGGER broadcasts_take_recipients AFTER DELETE ON broadcasts
    BEGIN DELETE FROM broadcast_recipients WHERE broadcast_id = old.id; END""",
    """CREATE TRIGGER users_take_broadcast_recipients AFTER DELETE ON users
    BEGIN DELETE FROM broadcast_recipients WHERE user_id = old.id; END""",
]


def upgrade() -> None:
    with op.batch_alter_table('broadcast_recipients', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_broadcast_recipients_broadcast_id_broadcasts'), type_='foreignkey')
        batch_op.drop_constraint(op.f('fk_broadcast_recipients_org_id_organisations'), type_='foreignkey')
        batch_op.drop_constraint(op.f('fk_broadcast_recipients_user_id_users'), type_='foreignkey')
        batch_op.drop_index(op.f('ix_broadcast_recipients_org_id'))
    for statement in _POSTGRESQL if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION broadcast_recipients_of_deleted_users() CASCADE")
        op.execute("DROP FUNCTION broadcast_recipients_of_deleted_broadcasts() CASCADE")
    else:  # a migration that rebuilt a parent table on SQLite (batch mode) took its trigger with it
        op.execute("DROP TRIGGER IF EXISTS users_take_broadcast_recipients")
        op.execute("DROP TRIGGER IF EXISTS broadcasts_take_recipients")
    op.execute("DELETE FROM broadcast_recipients WHERE user_id NOT IN (SELECT id FROM users) OR broadcast_id NOT IN (SELECT id FROM broadcasts)")
    with op.batch_alter_table('broadcast_recipients', schema=None) as batch_op:
        batch_op.create_index(op.f('ix_broadcast_recipients_org_id'), ['org_id'], unique=False)
        batch_op.create_foreign_key(op.f('fk_broadcast_recipients_user_id_users'), 'users', ['user_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(op.f('fk_broadcast_recipients_org_id_organisations'), 'organisations', ['org_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(op.f('fk_broadcast_recipients_broadcast_id_broadcasts'), 'broadcasts', ['broadcast_id'], ['id'],
                                    ondelete='CASCADE')
