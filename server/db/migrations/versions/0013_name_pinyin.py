"""Members: pinyin sort and search keys of their names, so the directory sorts Chinese names by pinyin and finds them by it.

Revision ID: 0013_name_pinyin
Revises: 0012_trusted_devices

Existing members get their keys from server/orgs/name_keys.py, a page of
1,000 at a time in id order.
"""
from alembic import op
import sqlalchemy as sa

from server.orgs.name_keys import name_keys

revision = '0013_name_pinyin'
down_revision = '0012_trusted_devices'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'name_sort_key', sa.String(length=400).with_variant(sa.String(length=400, collation='C'), 'postgresql'), server_default='', nullable=False
        ))
        batch_op.add_column(sa.Column('name_search_key', sa.String(length=600), server_default='', nullable=False))
    _fill_keys()
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index('ix_memberships_org_name')
        batch_op.create_index('ix_memberships_org_name_sort', ['org_id', 'name_sort_key', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index('ix_memberships_org_name_sort')
        batch_op.create_index('ix_memberships_org_name', ['org_id', 'display_name'], unique=False)
        batch_op.drop_column('name_search_key')
        batch_op.drop_column('name_sort_key')


def _fill_keys() -> None:
    bind = op.get_bind()
    members = sa.table('memberships', sa.column('id'), sa.column('display_name'), sa.column('name_sort_key'), sa.column('name_search_key'))
    after = 0
    while True:
        rows = bind.execute(
            sa.select(members.c.id, members.c.display_name).where(members.c.id > after).order_by(members.c.id).limit(1000)
        ).all()
        if not rows:
            return
        keys = [(member_id, name_keys(name)) for member_id, name in rows]
        bind.execute(
            members.update().where(members.c.id == sa.bindparam('member_id')).values(
                name_sort_key=sa.bindparam('sort'), name_search_key=sa.bindparam('search')
            ),
            [{'member_id': member_id, 'sort': k.sort, 'search': k.search} for member_id, k in keys],
        )
        after = rows[-1][0]
