"""The audit log: append-only, one row per recorded action, kept with its organisation.

Revision ID: 0010_audit
Revises: 0009_upload_limits

Triggers refuse any UPDATE but the one the database itself makes when an
actor's account is deleted (``actor_user_id`` set to NULL; the entry keeps the
name). Deleting an organisation deletes its entries with it.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0010_audit'
down_revision = '0009_upload_limits'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_FIXED = "id, org_id, at, actor_name, action, target_kind, target_id, remote, request_id, details"

_POSTGRESQL = [
    """CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the audit log is append-only';
    END $$""",
    f"""CREATE TRIGGER audit_log_no_rewrite BEFORE UPDATE OF {_FIXED} ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only()""",
    """CREATE TRIGGER audit_log_no_reattribution BEFORE UPDATE OF actor_user_id ON audit_log
    FOR EACH ROW WHEN (NEW.actor_user_id IS NOT NULL) EXECUTE FUNCTION audit_log_is_append_only()""",
]
_SQLITE = [
    f"""CREATE TRIGGER audit_log_no_rewrite BEFORE UPDATE OF {_FIXED} ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_reattribution BEFORE UPDATE OF actor_user_id ON audit_log
    WHEN new.actor_user_id IS NOT NULL BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
]


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', Id, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_user_id', Id, nullable=True),
    sa.Column('actor_name', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target_kind', sa.String(length=32), nullable=True),
    sa.Column('target_id', sa.BigInteger(), nullable=True),
    sa.Column('remote', sa.String(length=64), nullable=True),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('org_id', Id, nullable=False),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_audit_log_actor_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_audit_log_org_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_org_id_id', ['org_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_actor_user_id'), ['actor_user_id'], unique=False)
    for statement in _POSTGRESQL if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table('audit_log')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_log_is_append_only()")
