"""Gateway: every user has an event stream from its creation, and events go with their stream instead of checking users.

Revision ID: 0002_gateway
Revises: 0001_platform

Numbering an event to 10,000 people was mostly inserting stream rows and
checking a foreign key per event row (server/gateway/events.py). Now a
trigger gives each new user its stream row (last_seq 0), and the events'
foreign key to users is replaced by a trigger deleting a stream's events
with the stream row (which a user's deletion still removes by cascade).
PostgreSQL's triggers are per statement (a bulk import inserts thousands of
users in one), SQLite's per row.
"""
from alembic import op

revision = '0002_gateway'
down_revision = '0001_platform'
branch_labels = None
depends_on = None

_POSTGRESQL = [
    """CREATE FUNCTION user_streams_of_new_users() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO user_streams (user_id, last_seq) SELECT id, 0 FROM new_users;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER users_get_streams AFTER INSERT ON users REFERENCING NEW TABLE AS new_users
    FOR EACH STATEMENT EXECUTE FUNCTION user_streams_of_new_users()""",
    """CREATE FUNCTION user_events_of_deleted_streams() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM user_events e USING old_streams o WHERE e.user_id = o.user_id;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER user_streams_take_events AFTER DELETE ON user_streams REFERENCING OLD TABLE AS old_streams
    FOR EACH STATEMENT EXECUTE FUNCTION user_events_of_deleted_streams()""",
]
_SQLITE = [
    """CREATE TRIGGER users_get_streams AFTER INSERT ON users
    BEGIN INSERT INTO user_streams (user_id, last_seq) VALUES (new.id, 0); END""",
    """CREATE TRIGGER user_streams_take_events AFTER DELETE ON user_streams
    BEGIN DELETE FROM user_events WHERE user_id = old.user_id; END""",
]


def upgrade() -> None:
    with op.batch_alter_table('user_events', schema=None) as batch_op:
        batch_op.drop_constraint('fk_user_events_user_id_users', type_='foreignkey')
    op.execute("INSERT INTO user_streams (user_id, last_seq) SELECT id, 0 FROM users WHERE id NOT IN (SELECT user_id FROM user_streams)")
    for statement in _POSTGRESQL if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION user_events_of_deleted_streams() CASCADE")
        op.execute("DROP FUNCTION user_streams_of_new_users() CASCADE")
    else:  # a migration that rebuilt the table on SQLite (batch mode) took its trigger with it
        op.execute("DROP TRIGGER IF EXISTS user_streams_take_events")
        op.execute("DROP TRIGGER IF EXISTS users_get_streams")
    op.execute("DELETE FROM user_events WHERE user_id NOT IN (SELECT id FROM users)")
    with op.batch_alter_table('user_events', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_user_events_user_id_users'), 'users', ['user_id'], ['id'], ondelete='CASCADE')
