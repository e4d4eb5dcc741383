"""a re-issued link asks who is there (link number, issuer, trusted link, tries, return code)

Each screening's link is numbered and knows who issued it; the link that may show the saved
answers, the wrong tries at the identity check, and the return code's HMAC are kept.

Screenings already started trust the link they have now (the answers were saved with one of
their links, and which one was not recorded): their patients are not asked until a new link is
issued.

Revision ID: 8be820fe747e
Revises: b5c2e1a0d417
Create Date: 2026-12-08 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8be820fe747e'
down_revision = 'b5c2e1a0d417'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('link_number', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('link_issued_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('trusted_link', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('identity_failures', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('return_code_hash', sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_screenings_link_issued_by_id_users'), 'users', ['link_issued_by_id'], ['id'])

    screenings = sa.table('screenings', sa.column('started_at', sa.DateTime(timezone=True)),
                          sa.column('trusted_link', sa.Integer))
    op.get_bind().execute(
        screenings.update().where(screenings.c.started_at.is_not(None)).values(trusted_link=1)
    )


def downgrade():
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_screenings_link_issued_by_id_users'), type_='foreignkey')
        batch_op.drop_column('return_code_hash')
        batch_op.drop_column('identity_failures')
        batch_op.drop_column('trusted_link')
        batch_op.drop_column('link_issued_by_id')
        batch_op.drop_column('link_number')
