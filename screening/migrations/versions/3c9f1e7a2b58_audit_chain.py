"""the audit trail made tamper-evident: a hash chain, and on PostgreSQL no UPDATE or DELETE

Each audit event gets prev_hash (the hash of the event before it, 64 zeros for the first) and
hash (SHA-256 of its columns and prev_hash); the events already stored are chained in id order.
`detail` becomes TEXT (a listing's screening ids). On PostgreSQL a trigger refuses UPDATE,
DELETE and TRUNCATE of audit_events for every role, the owner and superusers included (a
superuser can still disable it: the chain is what shows that).

Revision ID: 3c9f1e7a2b58
Revises: 8be820fe747e
Create Date: 2026-12-10 10:00:00.000000

"""
import datetime as dt
import hashlib
import json

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '3c9f1e7a2b58'
down_revision = '8be820fe747e'
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def _digest(id, at, action, user_id, user_email, address, screening_id, detail, prev_hash):
    """A copy of screening.domain.audit.digest (a migration does not import the app's code;
    tests/web/test_audit_chain.py checks that the two agree)."""
    if at.tzinfo is None:  # SQLite keeps UTC without the zone
        at = at.replace(tzinfo=dt.timezone.utc)
    when = at.astimezone(dt.timezone.utc).isoformat(timespec="microseconds")
    values = [id, when, action, user_id, user_email, address, screening_id, detail, prev_hash]
    canonical = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


TRIGGER_FUNCTION = """
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % of audit_events refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
        batch_op.alter_column('detail', existing_type=sa.String(length=200), type_=sa.Text(),
                              existing_nullable=True)

    bind = op.get_bind()
    events = sa.table(
        'audit_events', sa.column('id', sa.Integer), sa.column('at', sa.DateTime(timezone=True)),
        sa.column('action', sa.String), sa.column('user_id', sa.Integer),
        sa.column('user_email', sa.String), sa.column('address', sa.String),
        sa.column('screening_id', sa.Integer), sa.column('detail', sa.Text),
        sa.column('prev_hash', sa.String), sa.column('hash', sa.String),
    )
    names = ('id', 'at', 'action', 'user_id', 'user_email', 'address', 'screening_id', 'detail')
    previous, last_id = GENESIS, 0
    while True:  # in id order, a batch at a time
        rows = bind.execute(
            sa.select(*(events.c[n] for n in names))
            .where(events.c.id > last_id).order_by(events.c.id).limit(1000)
        ).all()
        if not rows:
            break
        updates = []
        for row in rows:
            values = dict(zip(names, row))
            values['prev_hash'] = previous
            previous = _digest(**values)
            updates.append({'ident': row.id, 'p': values['prev_hash'], 'h': previous})
        bind.execute(
            events.update().where(events.c.id == sa.bindparam('ident'))
            .values(prev_hash=sa.bindparam('p'), hash=sa.bindparam('h')),
            updates,
        )
        last_id = rows[-1].id

    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)

    if bind.dialect.name == 'postgresql':
        op.execute(TRIGGER_FUNCTION)
        op.execute(
            "CREATE TRIGGER audit_events_no_update_or_delete BEFORE UPDATE OR DELETE "
            "ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE "
            "ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
        )


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER audit_events_no_update_or_delete ON audit_events")
        op.execute("DROP FUNCTION audit_events_append_only()")
        op.execute("UPDATE audit_events SET detail = left(detail, 200) "
                   "WHERE length(detail) > 200")
    else:
        op.execute("UPDATE audit_events SET detail = substr(detail, 1, 200) "
                   "WHERE length(detail) > 200")
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('detail', existing_type=sa.Text(), type_=sa.String(length=200),
                              existing_nullable=True)
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
