"""External contacts: each organisation's caps and count, contact links, the contacts; groups flagged external.

Revision ID: 0014_contacts
Revises: 0013_name_pinyin
"""
from alembic import op
import sqlalchemy as sa

revision = '0014_contacts'
down_revision = '0013_name_pinyin'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.add_column('groups', sa.Column('external', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table('contact_policies',
    sa.Column('org_id', Id, nullable=False),
    sa.Column('contact_limit', sa.Integer(), nullable=False),
    sa.Column('group_member_limit', sa.Integer(), nullable=False),
    sa.Column('contact_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_contact_policies_org_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('org_id', name=op.f('pk_contact_policies'))
    )
    op.create_table('contact_links',
    sa.Column('id', Id, nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', Id, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('max_uses', sa.Integer(), nullable=True),
    sa.Column('uses', sa.Integer(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('org_id', Id, nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_contact_links_created_by_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_contact_links_org_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_contact_links_token_hash'))
    )
    with op.batch_alter_table('contact_links', schema=None) as batch_op:
        batch_op.create_index('ix_contact_links_org_created_by', ['org_id', 'created_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_links_org_id'), ['org_id'], unique=False)
    op.create_table('external_contacts',
    sa.Column('id', Id, nullable=False),
    sa.Column('user_id', Id, nullable=False),
    sa.Column('owner_id', Id, nullable=True),
    sa.Column('chat_group_id', Id, nullable=True),
    sa.Column('link_id', Id, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('handed_over_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('org_id', Id, nullable=False),
    sa.ForeignKeyConstraint(['chat_group_id'], ['groups.id'], name=op.f('fk_external_contacts_chat_group_id_groups'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['link_id'], ['contact_links.id'], name=op.f('fk_external_contacts_link_id_contact_links'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_external_contacts_org_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_external_contacts_owner_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_external_contacts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_contacts'))
    )
    with op.batch_alter_table('external_contacts', schema=None) as batch_op:
        batch_op.create_index('ix_external_contacts_org_owner', ['org_id', 'owner_id'], unique=False)
        batch_op.create_index('ix_external_contacts_user_id', ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_external_contacts_org_id'), ['org_id'], unique=False)


def downgrade() -> None:
    op.drop_table('external_contacts')
    op.drop_table('contact_links')
    op.drop_table('contact_policies')
    op.drop_column('groups', 'external')  # SQLite 3.35+ drops a column in place
