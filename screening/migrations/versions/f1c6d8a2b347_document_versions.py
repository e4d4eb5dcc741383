"""document versions: every rendering of a screening's PDF kept, asked for and rendered apart

A document is asked for (at submission; the summary again at each acknowledgement, withdrawal or
review) and rendered by a background job; each version is kept with its hash and time. Existing
documents become version 1, asked for when they were rendered.

Revision ID: f1c6d8a2b347
Revises: b8d3f0a6c214
Create Date: 2026-12-05 09:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'f1c6d8a2b347'
down_revision = 'b8d3f0a6c214'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('reason', sa.String(length=40), server_default='submitted',
                                      nullable=False))
        batch_op.add_column(sa.Column('requested_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('requested_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('tries', sa.Integer(), server_default='0', nullable=False))
        batch_op.alter_column('created_at', new_column_name='rendered_at', nullable=True,
                              existing_type=sa.DateTime(timezone=True))
        batch_op.alter_column('content', nullable=True, existing_type=sa.LargeBinary())
        batch_op.alter_column('sha256', nullable=True, existing_type=sa.String(length=64))
        batch_op.drop_constraint('screening_kind', type_='unique')
        batch_op.create_unique_constraint('screening_kind_version',
                                          ['screening_id', 'kind', 'version'])
        batch_op.create_foreign_key(batch_op.f('fk_documents_requested_by_id_users'), 'users',
                                    ['requested_by_id'], ['id'])
    op.execute("UPDATE documents SET requested_at = rendered_at")
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.alter_column('requested_at', nullable=False,
                              existing_type=sa.DateTime(timezone=True))
        batch_op.create_index('ix_documents_pending', ['rendered_at', 'requested_at'],
                              unique=False)


def downgrade():
    # Only the newest rendered version of each document survives going back.
    op.execute(
        "DELETE FROM documents WHERE rendered_at IS NULL OR version < ("
        "SELECT MAX(d.version) FROM documents d WHERE d.screening_id = documents.screening_id"
        " AND d.kind = documents.kind AND d.rendered_at IS NOT NULL)"
    )
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_index('ix_documents_pending')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_documents_requested_by_id_users'),
                                 type_='foreignkey')
        batch_op.drop_constraint('screening_kind_version', type_='unique')
        batch_op.create_unique_constraint('screening_kind', ['screening_id', 'kind'])
        batch_op.alter_column('sha256', nullable=False, existing_type=sa.String(length=64))
        batch_op.alter_column('content', nullable=False, existing_type=sa.LargeBinary())
        batch_op.alter_column('rendered_at', new_column_name='created_at', nullable=False,
                              existing_type=sa.DateTime(timezone=True))
        batch_op.drop_column('tries')
        batch_op.drop_column('claimed_until')
        batch_op.drop_column('requested_at')
        batch_op.drop_column('requested_by_id')
        batch_op.drop_column('reason')
        batch_op.drop_column('version')
