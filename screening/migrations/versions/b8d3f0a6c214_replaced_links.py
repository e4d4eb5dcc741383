"""replaced links: the hash of each patient's link that a newer one replaced (replaced_links)

A patient who opens a replaced link is told it was replaced by a newer one, in their language,
instead of "check that you used the whole link". Links replaced before this revision are not
known (they stay "not working").

Revision ID: b8d3f0a6c214
Revises: d2f9a4c7e815
Create Date: 2026-12-06 09:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = 'b8d3f0a6c214'
down_revision = 'd2f9a4c7e815'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'replaced_links',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('screening_id', sa.Integer(), nullable=False),
        sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['screening_id'], ['screenings.id'],
                                name=op.f('fk_replaced_links_screening_id_screenings'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_replaced_links')),
    )
    with op.batch_alter_table('replaced_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_replaced_links_screening_id'), ['screening_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('replaced_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_replaced_links_screening_id'))
    op.drop_table('replaced_links')
