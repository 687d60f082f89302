"""Channels on the platform: Web Push subscriptions and paid-message counters (moved from notify), notification settings, mentions

Revision ID: 0016_channels
Revises: 0015_chat

``push_subscriptions`` and ``paid_usage`` take the rows of notify's
``notify_push_subscriptions`` and ``notify_paid_usage`` (notify's
0005_channels copies them and drops its tables). Existing groups start with
``told_seq = mention_told_seq = last_seq``: nothing already sent is pushed after the upgrade.
"""
from alembic import op
import sqlalchemy as sa

revision = '0016_channels'
down_revision = '0015_chat'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('push_subscriptions',
    sa.Column('id', Id, nullable=False),
    sa.Column('user_id', Id, nullable=False),
    sa.Column('endpoint', sa.String(length=1000), nullable=False),
    sa.Column('p256dh', sa.String(length=200), nullable=False),
    sa.Column('auth', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_push_subscriptions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_subscriptions')),
    sa.UniqueConstraint('endpoint', name=op.f('uq_push_subscriptions_endpoint'))
    )
    op.create_index(op.f('ix_push_subscriptions_user_id'), 'push_subscriptions', ['user_id'], unique=False)
    op.create_table('paid_usage',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', 'channel', 'scope', 'key', name=op.f('pk_paid_usage'))
    )
    op.create_table('notification_settings',
    sa.Column('user_id', Id, nullable=False),
    sa.Column('quiet_start_min', sa.Integer(), nullable=True),
    sa.Column('quiet_end_min', sa.Integer(), nullable=True),
    sa.Column('mentions_when_muted', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_settings_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notification_settings'))
    )
    op.create_table('org_notification_settings',
    sa.Column('org_id', Id, nullable=False),
    sa.Column('sms_digest', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_org_notification_settings_org_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_id', name=op.f('pk_org_notification_settings'))
    )
    op.create_table('sms_digests',
    sa.Column('org_id', Id, nullable=False),
    sa.Column('user_id', Id, nullable=False),
    sa.Column('mentions', sa.Integer(), nullable=False),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_sms_digests_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sms_digests_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_id', 'user_id', name=op.f('pk_sms_digests'))
    )
    op.create_table('group_mentions',
    sa.Column('group_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', Id, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('org_id', Id, nullable=False),
    sa.ForeignKeyConstraint(['group_id', 'seq'], ['group_messages.group_id', 'group_messages.seq'], name=op.f('fk_group_mentions_group_id_group_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_group_mentions_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_group_mentions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'user_id', 'seq', name=op.f('pk_group_mentions'))
    )
    op.create_index(op.f('ix_group_mentions_org_id'), 'group_mentions', ['org_id'], unique=False)
    op.create_index('ix_group_messages_mention_all', 'group_messages', ['group_id', 'seq'], unique=False,
                    postgresql_where=sa.text('mention_all'), sqlite_where=sa.text('mention_all'))
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_mention_seq', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('told_seq', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('mention_told_seq', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('told_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE groups SET told_seq = last_seq, mention_told_seq = last_seq")


def downgrade() -> None:
    with op.batch_alter_table('groups', schema=None) as batch_op:
        batch_op.drop_column('told_at')
        batch_op.drop_column('mention_told_seq')
        batch_op.drop_column('told_seq')
        batch_op.drop_column('last_mention_seq')
    op.drop_index('ix_group_messages_mention_all', table_name='group_messages')
    op.drop_index(op.f('ix_group_mentions_org_id'), table_name='group_mentions')
    op.drop_table('group_mentions')
    op.drop_table('sms_digests')
    op.drop_table('org_notification_settings')
    op.drop_table('notification_settings')
    op.drop_table('paid_usage')
    op.drop_index(op.f('ix_push_subscriptions_user_id'), table_name='push_subscriptions')
    op.drop_table('push_subscriptions')
