"""notify: a broadcast's recipient rows keep no foreign keys to the organisation and the user, nor an index on the organisation

Revision ID: 0006_recipient_keys
Revises: 0005_channels

PostgreSQL checked both keys for each of a notice's rows (480,000 for a
city): most of its send. The rows go with their broadcast (whose key stays, so
an organisation's go with it too) and with the account
(server/accounts/deletion.py). Every query of them names the broadcast or the
user, so the index on ``org_id`` alone served none.
"""
from alembic import op

revision = '0006_recipient_keys'
down_revision = '0005_channels'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('broadcast_recipients', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_broadcast_recipients_org_id_organisations'), type_='foreignkey')
        batch_op.drop_constraint(op.f('fk_broadcast_recipients_user_id_users'), type_='foreignkey')
        batch_op.drop_index(op.f('ix_broadcast_recipients_org_id'))


def downgrade() -> None:
    op.execute("DELETE FROM broadcast_recipients WHERE user_id NOT IN (SELECT id FROM users)")
    with op.batch_alter_table('broadcast_recipients', schema=None) as batch_op:
        batch_op.create_index(op.f('ix_broadcast_recipients_org_id'), ['org_id'], unique=False)
        batch_op.create_foreign_key(op.f('fk_broadcast_recipients_user_id_users'), 'users', ['user_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(op.f('fk_broadcast_recipients_org_id_organisations'), 'organisations', ['org_id'], ['id'], ondelete='CASCADE')
