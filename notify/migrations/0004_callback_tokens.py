"""notify: each SMS and call is called back at URLs with its own unguessable token, and its key press is used up once

Revision ID: 0004_callback_tokens
Revises: 0003_paid_limits
"""
import secrets

from alembic import op
import sqlalchemy as sa

revision = '0004_callback_tokens'
down_revision = '0003_paid_limits'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notify_outbound', schema=None) as batch_op:
        batch_op.add_column(sa.Column('callback_token', sa.String(length=43), nullable=True))
        batch_op.add_column(sa.Column('gathered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_notify_outbound_callback_token'), ['callback_token'])
    # Messages not yet sent go out with the new URLs; those already sent were called back at the old ones.
    outbound = sa.table('notify_outbound', sa.column('id', sa.BigInteger), sa.column('channel', sa.String),
                        sa.column('status', sa.String), sa.column('callback_token', sa.String))
    conn = op.get_bind()
    unsent = conn.execute(sa.select(outbound.c.id).where(outbound.c.channel.in_(['sms', 'call']),
                                                         outbound.c.status.in_(['queued', 'sending']))).scalars().all()
    if unsent:
        conn.execute(outbound.update().where(outbound.c.id == sa.bindparam('message_id')).values(callback_token=sa.bindparam('token')),
                     [{'message_id': message_id, 'token': secrets.token_urlsafe(32)} for message_id in unsent])


def downgrade() -> None:
    with op.batch_alter_table('notify_outbound', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_notify_outbound_callback_token'), type_='unique')
        batch_op.drop_column('gathered_at')
        batch_op.drop_column('callback_token')
