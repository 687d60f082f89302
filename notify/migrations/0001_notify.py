"""notify: broadcasts, recipients, escalation steps, outbound queue, pacing, push subscriptions, senders, policies

Revision ID: 0001_notify
Revises: (a branch of its own; needs 0001_platform)
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0001_notify'
down_revision = None
branch_labels = ('notify',)
depends_on = '0001_platform'


def upgrade() -> None:
    op.create_table('notify_pacing',
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('next_slot_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', name=op.f('pk_notify_pacing'))
    )
    op.create_table('broadcasts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sender_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('attachments', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('policy', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('priority', sa.SmallInteger(), nullable=False),
    sa.Column('recipient_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_broadcasts_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sender_id'], ['users.id'], name=op.f('fk_broadcasts_sender_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcasts'))
    )
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.create_index('ix_broadcasts_org_created', ['org_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_broadcasts_org_id'), ['org_id'], unique=False)

    op.create_table('notify_policies',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sms_after_s', sa.Integer(), nullable=True),
    sa.Column('call_after_s', sa.Integer(), nullable=True),
    sa.Column('repeats', sa.Integer(), nullable=False),
    sa.Column('repeat_interval_s', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_notify_policies_org_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_policies')),
    sa.UniqueConstraint('org_id', name='uq_notify_policies_org')
    )
    with op.batch_alter_table('notify_policies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notify_policies_org_id'), ['org_id'], unique=False)

    op.create_table('notify_push_subscriptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('endpoint', sa.String(length=1000), nullable=False),
    sa.Column('p256dh', sa.String(length=200), nullable=False),
    sa.Column('auth', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notify_push_subscriptions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_push_subscriptions')),
    sa.UniqueConstraint('endpoint', name=op.f('uq_notify_push_subscriptions_endpoint'))
    )
    with op.batch_alter_table('notify_push_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notify_push_subscriptions_user_id'), ['user_id'], unique=False)

    op.create_table('notify_senders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('granted_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['granted_by'], ['users.id'], name=op.f('fk_notify_senders_granted_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_notify_senders_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notify_senders_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_senders')),
    sa.UniqueConstraint('org_id', 'user_id', name='uq_notify_senders_org_user')
    )
    with op.batch_alter_table('notify_senders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notify_senders_org_id'), ['org_id'], unique=False)

    op.create_table('broadcast_recipients',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('broadcast_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('has_push', sa.Boolean(), nullable=False),
    sa.Column('stage', sa.SmallInteger(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_via', sa.String(length=16), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('remind_count', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcasts.id'], name=op.f('fk_broadcast_recipients_broadcast_id_broadcasts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_broadcast_recipients_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_broadcast_recipients_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broadcast_recipients')),
    sa.UniqueConstraint('broadcast_id', 'user_id', name='uq_broadcast_recipients_broadcast_user')
    )
    with op.batch_alter_table('broadcast_recipients', schema=None) as batch_op:
        batch_op.create_index('ix_broadcast_recipients_broadcast_stage', ['broadcast_id', 'stage'], unique=False)
        batch_op.create_index(batch_op.f('ix_broadcast_recipients_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_broadcast_recipients_user_id', ['user_id'], unique=False)

    op.create_table('notify_escalation_steps',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('broadcast_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recipient_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('step_no', sa.SmallInteger(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('attempt', sa.SmallInteger(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=200), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcasts.id'], name=op.f('fk_notify_escalation_steps_broadcast_id_broadcasts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_notify_escalation_steps_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recipient_id'], ['broadcast_recipients.id'], name=op.f('fk_notify_escalation_steps_recipient_id_broadcast_recipients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_escalation_steps')),
    sa.UniqueConstraint('recipient_id', 'step_no', name='uq_notify_escalation_steps_recipient_step')
    )
    with op.batch_alter_table('notify_escalation_steps', schema=None) as batch_op:
        batch_op.create_index('ix_notify_escalation_steps_due', ['done_at', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notify_escalation_steps_org_id'), ['org_id'], unique=False)

    op.create_table('notify_outbound',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('broadcast_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recipient_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('step_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('to', sa.String(length=32), nullable=False),
    sa.Column('priority', sa.SmallInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sa.String(length=200), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('provider_ref', sa.String(length=64), nullable=True),
    sa.Column('provider_status', sa.String(length=32), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['broadcast_id'], ['broadcasts.id'], name=op.f('fk_notify_outbound_broadcast_id_broadcasts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_notify_outbound_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recipient_id'], ['broadcast_recipients.id'], name=op.f('fk_notify_outbound_recipient_id_broadcast_recipients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_id'], ['notify_escalation_steps.id'], name=op.f('fk_notify_outbound_step_id_notify_escalation_steps'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_outbound')),
    sa.UniqueConstraint('step_id', name=op.f('uq_notify_outbound_step_id'))
    )
    with op.batch_alter_table('notify_outbound', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notify_outbound_broadcast_id'), ['broadcast_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notify_outbound_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_notify_outbound_queue', ['channel', 'status', 'priority', 'not_before'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('notify_outbound', schema=None) as batch_op:
        batch_op.drop_index('ix_notify_outbound_queue')
        batch_op.drop_index(batch_op.f('ix_notify_outbound_org_id'))
        batch_op.drop_index(batch_op.f('ix_notify_outbound_broadcast_id'))

    op.drop_table('notify_outbound')
    with op.batch_alter_table('notify_escalation_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notify_escalation_steps_org_id'))
        batch_op.drop_index('ix_notify_escalation_steps_due')

    op.drop_table('notify_escalation_steps')
    with op.batch_alter_table('broadcast_recipients', schema=None) as batch_op:
        batch_op.drop_index('ix_broadcast_recipients_user_id')
        batch_op.drop_index(batch_op.f('ix_broadcast_recipients_org_id'))
        batch_op.drop_index('ix_broadcast_recipients_broadcast_stage')

    op.drop_table('broadcast_recipients')
    with op.batch_alter_table('notify_senders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notify_senders_org_id'))

    op.drop_table('notify_senders')
    with op.batch_alter_table('notify_push_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notify_push_subscriptions_user_id'))

    op.drop_table('notify_push_subscriptions')
    with op.batch_alter_table('notify_policies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notify_policies_org_id'))

    op.drop_table('notify_policies')
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broadcasts_org_id'))
        batch_op.drop_index('ix_broadcasts_org_created')

    op.drop_table('broadcasts')
    op.drop_table('notify_pacing')
