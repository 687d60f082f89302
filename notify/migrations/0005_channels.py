"""notify: Web Push subscriptions and paid-message counters move to the platform's channels (server/channels/)

Revision ID: 0005_channels
Revises: 0004_callback_tokens

The rows go to ``push_subscriptions`` and ``paid_usage`` (made by the
platform's 0016_channels) with their ids; downgrading brings them back.
"""
from alembic import op
import sqlalchemy as sa

revision = '0005_channels'
down_revision = '0004_callback_tokens'
branch_labels = None
depends_on = '0016_channels'

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_SUBSCRIPTION = "id, user_id, endpoint, p256dh, auth, created_at"
_USAGE = "day, channel, scope, key, used"


def _copy(old: str, new: str, columns: str, *, ids: bool) -> None:
    op.execute(f"INSERT INTO {new} ({columns}) SELECT {columns} FROM {old}")
    if ids and op.get_bind().dialect.name == "postgresql":
        op.execute(f"SELECT setval(pg_get_serial_sequence('{new}', 'id'), COALESCE((SELECT MAX(id) FROM {new}), 0) + 1, false)")


def upgrade() -> None:
    _copy('notify_push_subscriptions', 'push_subscriptions', _SUBSCRIPTION, ids=True)
    _copy('notify_paid_usage', 'paid_usage', _USAGE, ids=False)
    op.drop_index(op.f('ix_notify_push_subscriptions_user_id'), table_name='notify_push_subscriptions')
    op.drop_table('notify_push_subscriptions')
    op.drop_table('notify_paid_usage')


def downgrade() -> None:
    op.create_table('notify_paid_usage',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'channel', 'scope', 'key', name=op.f('pk_notify_paid_usage'))
    )
    op.create_table('notify_push_subscriptions',
    sa.Column('id', Id, nullable=False),
    sa.Column('user_id', Id, nullable=False),
    sa.Column('endpoint', sa.String(length=1000), nullable=False),
    sa.Column('p256dh', sa.String(length=200), nullable=False),
    sa.Column('auth', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notify_push_subscriptions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_push_subscriptions')),
    sa.UniqueConstraint('endpoint', name=op.f('uq_notify_push_subscriptions_endpoint'))
    )
    op.create_index(op.f('ix_notify_push_subscriptions_user_id'), 'notify_push_subscriptions', ['user_id'], unique=False)
    _copy('push_subscriptions', 'notify_push_subscriptions', _SUBSCRIPTION, ids=True)
    _copy('paid_usage', 'notify_paid_usage', _USAGE, ids=False)
    op.execute("DELETE FROM push_subscriptions")
    op.execute("DELETE FROM paid_usage")
