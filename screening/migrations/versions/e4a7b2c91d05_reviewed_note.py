"""a clinician's note with the mark "reviewed" (reviewed_note)

A screening marked reviewed keeps who and when (reviewed_by_id, reviewed_at) and now an optional
note; undoing the review clears all three. Existing reviews have no note.

Revision ID: e4a7b2c91d05
Revises: 5d1c7e9a3f20
Create Date: 2026-12-05 08:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'e4a7b2c91d05'
down_revision = '5d1c7e9a3f20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reviewed_note', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.drop_column('reviewed_note')
