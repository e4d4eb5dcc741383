"""surgery records: the operation as it happened (performed, cancelled or postponed)

One row per record, never changed: a correction is a new record that replaces the one before
(`replaces_id`, unique); the newest of a screening stands. Existing screenings have none.

Revision ID: a7e3c5d9b162
Revises: f1c6d8a2b347
Create Date: 2026-12-05 17:30:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = 'a7e3c5d9b162'
down_revision = 'f1c6d8a2b347'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table(
        'surgery_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('screening_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('surgery_date', sa.Date(), nullable=True),
        sa.Column('planned_date', sa.Date(), nullable=True),
        sa.Column('procedure', JSON, nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('replaces_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('via', sa.String(length=10), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('api_key_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('performed', 'cancelled', 'postponed')",
                           name=op.f('ck_surgery_records_status_known')),
        sa.CheckConstraint("(status = 'performed' AND surgery_date IS NOT NULL) "
                           "OR (status <> 'performed' AND surgery_date IS NULL)",
                           name=op.f('ck_surgery_records_date_when_performed')),
        sa.CheckConstraint("status = 'postponed' OR planned_date IS NULL",
                           name=op.f('ck_surgery_records_planned_when_postponed')),
        sa.CheckConstraint("via IN ('staff', 'api', 'cli')",
                           name=op.f('ck_surgery_records_via_known')),
        sa.ForeignKeyConstraint(['screening_id'], ['screenings.id'],
                                name=op.f('fk_surgery_records_screening_id_screenings'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['replaces_id'], ['surgery_records.id'],
                                name=op.f('fk_surgery_records_replaces_id_surgery_records')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'],
                                name=op.f('fk_surgery_records_recorded_by_id_users')),
        sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'],
                                name=op.f('fk_surgery_records_api_key_id_api_keys')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_surgery_records')),
        sa.UniqueConstraint('replaces_id', name=op.f('uq_surgery_records_replaces_id')),
    )
    op.create_index('ix_surgery_records_screening', 'surgery_records', ['screening_id', 'id'],
                    unique=False)


def downgrade():
    op.drop_index('ix_surgery_records_screening', table_name='surgery_records')
    op.drop_table('surgery_records')
