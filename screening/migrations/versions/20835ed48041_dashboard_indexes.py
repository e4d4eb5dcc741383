"""dashboard search key and indexes

Revision ID: 20835ed48041
Revises: 794cc7509de3
Create Date: 2026-11-23 19:56:40.574756

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '20835ed48041'
down_revision = '794cc7509de3'
branch_labels = None
depends_on = None


def upgrade():
    # The expression index goes first: a batch copy of the table cannot carry it.
    op.drop_index('ix_screenings_name_lower', table_name='screenings')
    name_key = sa.String(length=200).with_variant(sa.String(length=200, collation='C'), 'postgresql')
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_key', name_key, nullable=False, server_default=''))
        batch_op.drop_index(batch_op.f('ix_screenings_created'))
        batch_op.create_index('ix_screenings_created', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_screenings_name_key', ['name_key'], unique=False)

    # Fill the search key of existing screenings exactly as the application does.
    connection = op.get_bind()
    screenings = sa.table('screenings', sa.column('id', sa.Integer),
                          sa.column('patient_name', sa.String), sa.column('name_key', sa.String))
    rows = connection.execute(sa.select(screenings.c.id, screenings.c.patient_name)).all()
    for ident, name in rows:
        connection.execute(
            screenings.update().where(screenings.c.id == ident)
            .values(name_key=' '.join(name.lower().split()))
        )


def downgrade():
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.drop_index('ix_screenings_name_key')
        batch_op.drop_index('ix_screenings_created')
        batch_op.create_index(batch_op.f('ix_screenings_created'), ['created_at'], unique=False)
        batch_op.drop_column('name_key')
    op.create_index('ix_screenings_name_lower', 'screenings', [sa.text('lower(patient_name)')])
