"""drafts: what a patient typed on a step and has not saved yet (raw form fields)

Kept per screening and step, so a phone that locks or a tab closed before Continue loses
nothing; deleted when the step is saved and when the screening is sent. Existing screenings
have none.

Revision ID: d2f9a4c7e815
Revises: e4a7b2c91d05
Create Date: 2026-12-12 09:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = 'd2f9a4c7e815'
down_revision = 'e4a7b2c91d05'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table(
        'drafts',
        sa.Column('screening_id', sa.Integer(), nullable=False),
        sa.Column('step_id', sa.String(length=100), nullable=False),
        sa.Column('fields', JSON, nullable=False),
        sa.Column('saved_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['screening_id'], ['screenings.id'],
                                name=op.f('fk_drafts_screening_id_screenings'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('screening_id', 'step_id', name=op.f('pk_drafts')),
    )


def downgrade():
    op.drop_table('drafts')
