"""notify: a broadcast's recipient rows keep no foreign keys; triggers delete them with their broadcast or person

Revision ID: 0006_recipient_keys
Revises: 0005_channels

PostgreSQL checked the three keys (broadcast, organisation, user) for each of
a notice's rows, 480,000 for a city: inserting that many took 54-58 s with
them, 13-14 s without, on the shared machine (bench/RESULTS.md "health").
The rows are valid by construction; what the keys' cascades did, triggers on
the parents do when a row there is deleted: a broadcast's recipients go with
it (and so with its organisation, whose broadcasts cascade), a person's with
their account (server/db/parent_triggers.py). Every query of the rows names
the broadcast or the user, so the index on ``org_id`` alone served none.
"""
from alembic import op

from server.db.parent_triggers import drop_on_parent_delete, on_parent_delete

revision = '0006_recipient_keys'
down_revision = '0005_channels'
branch_labels = None
depends_on = None

_TRIGGERS = {  # name: (parent, column)
    'broadcasts_take_recipients': ('broadcasts', 'broadcast_id'),
    'users_take_broadcast_recipients': ('users', 'user_id'),
}


def upgrade() -> None:
    with op.batch_alter_table('broadcast_recipients', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_broadcast_recipients_broadcast_id_broadcasts'), type_='foreignkey')
        batch_op.drop_constraint(op.f('fk_broadcast_recipients_org_id_organisations'), type_='foreignkey')
        batch_op.drop_constraint(op.f('fk_broadcast_recipients_user_id_users'), type_='foreignkey')
        batch_op.drop_index(op.f('ix_broadcast_recipients_org_id'))
    dialect = op.get_bind().dialect.name
    for name, (parent, column) in _TRIGGERS.items():
        for statement in on_parent_delete(dialect, name, parent=parent, child='broadcast_recipients', column=column):
            op.execute(statement)


def downgrade() -> None:
    for name in _TRIGGERS:
        op.execute(drop_on_parent_delete(op.get_bind().dialect.name, name))
    op.execute("DELETE FROM broadcast_recipients WHERE user_id NOT IN (SELECT id FROM users) OR broadcast_id NOT IN (SELECT id FROM broadcasts)")
    with op.batch_alter_table('broadcast_recipients', schema=None) as batch_op:
        batch_op.create_index(op.f('ix_broadcast_recipients_org_id'), ['org_id'], unique=False)
        batch_op.create_foreign_key(op.f('fk_broadcast_recipients_user_id_users'), 'users', ['user_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(op.f('fk_broadcast_recipients_org_id_organisations'), 'organisations', ['org_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(op.f('fk_broadcast_recipients_broadcast_id_broadcasts'), 'broadcasts', ['broadcast_id'], ['id'],
                                    ondelete='CASCADE')
