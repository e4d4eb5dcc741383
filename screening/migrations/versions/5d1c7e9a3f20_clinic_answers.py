"""the clinic's entries about the planned surgery, kept on each screening (clinic_answers)

The questions a questionnaire marks `clinic` may be entered by the clinic on the invitation; the
entries are scored where the patient's own answer does not tell. Existing screenings have none.

Revision ID: 5d1c7e9a3f20
Revises: c3d9f2b7a861
Create Date: 2026-12-05 09:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '5d1c7e9a3f20'
down_revision = 'c3d9f2b7a861'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clinic_answers', JSON, nullable=True))


def downgrade():
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.drop_column('clinic_answers')
