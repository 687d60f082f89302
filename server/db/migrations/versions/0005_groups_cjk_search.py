"""Groups: search finds Chinese, Japanese and Korean words inside sentences, via stored character bigrams.

Revision ID: 0005_groups_cjk_search
Revises: 0004_groups_storage
"""
from alembic import op
import sqlalchemy as sa

from server.groups.cjk import CJK_RUN, index_terms

revision = '0005_groups_cjk_search'
down_revision = '0004_groups_storage'
branch_labels = None
depends_on = None

_KEY = "((%(row)s.group_id << 32) + %(row)s.seq)"


def upgrade() -> None:
    op.add_column('group_messages', sa.Column('cjk_terms', sa.Text(), nullable=False, server_default=''))
    _fill_cjk_terms()
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_group_messages_body_fts")
        op.execute("CREATE INDEX ix_group_messages_body_fts ON group_messages USING gin (to_tsvector('simple', body || ' ' || cjk_terms))")
        return
    _sqlite_triggers("new.body || ' ' || new.cjk_terms", "body, cjk_terms")
    op.execute("DELETE FROM group_messages_fts")
    op.execute(f"INSERT INTO group_messages_fts(rowid, body) SELECT {_KEY % {'row': 'group_messages'}}, body || ' ' || cjk_terms FROM group_messages")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_group_messages_body_fts")
        op.execute("CREATE INDEX ix_group_messages_body_fts ON group_messages USING gin (to_tsvector('simple', body))")
    else:
        _sqlite_triggers("new.body", "body")
        op.execute("DELETE FROM group_messages_fts")
        op.execute(f"INSERT INTO group_messages_fts(rowid, body) SELECT {_KEY % {'row': 'group_messages'}}, body FROM group_messages")
    op.drop_column('group_messages', 'cjk_terms')


def _fill_cjk_terms() -> None:
    bind = op.get_bind()
    messages = sa.table('group_messages', sa.column('group_id'), sa.column('seq'), sa.column('body'), sa.column('cjk_terms'))
    after = (0, 0)
    while True:  # a page of 1,000 messages at a time, in key order
        rows = bind.execute(
            sa.select(messages.c.group_id, messages.c.seq, messages.c.body)
            .where(sa.tuple_(messages.c.group_id, messages.c.seq) > sa.tuple_(*after))
            .order_by(messages.c.group_id, messages.c.seq)
            .limit(1000)
        ).all()
        if not rows:
            return
        for group_id, seq, body in rows:
            if CJK_RUN.search(body):
                bind.execute(
                    messages.update().where(messages.c.group_id == group_id, messages.c.seq == seq).values(cjk_terms=index_terms(body))
                )
        after = rows[-1][:2]


def _sqlite_triggers(indexed: str, columns: str) -> None:
    """The FTS5 table follows ``indexed`` of each message (see 0002_groups for the rowid)."""
    for trigger in ("insert", "update"):
        op.execute(f"DROP TRIGGER group_messages_fts_{trigger}")
    op.execute(
        "CREATE TRIGGER group_messages_fts_insert AFTER INSERT ON group_messages BEGIN "
        f"INSERT INTO group_messages_fts(rowid, body) VALUES ({_KEY % {'row': 'new'}}, {indexed}); END"
    )
    op.execute(
        f"CREATE TRIGGER group_messages_fts_update AFTER UPDATE OF {columns} ON group_messages BEGIN "
        f"UPDATE group_messages_fts SET body = {indexed} WHERE rowid = {_KEY % {'row': 'old'}}; END"
    )
