"""sites (data access groups): every screening belongs to one; staff and API keys to some, or to
all (network-wide); API keys carry scopes

Every existing screening, user and key goes to one site, "Main site", so a clinic with one site
sees no difference. Existing admins become network-wide; existing keys keep reading everything
they read before (all sites, both scopes).

Revision ID: c3d9f2b7a861
Revises: 3c9f1e7a2b58
Create Date: 2026-12-04 19:30:00

"""
import datetime as dt

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = 'c3d9f2b7a861'
down_revision = '3c9f1e7a2b58'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
DEFAULT_SITE = "Main site"


def upgrade():
    sites = op.create_table(
        'sites',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sites')),
        sa.UniqueConstraint('name', name=op.f('uq_sites_name')),
    )
    op.create_table(
        'user_sites',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_user_sites_site_id_sites'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sites_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'site_id', name=op.f('pk_user_sites')),
    )
    op.create_table(
        'api_key_sites',
        sa.Column('api_key_id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'],
                                name=op.f('fk_api_key_sites_api_key_id_api_keys'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_api_key_sites_site_id_sites'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('api_key_id', 'site_id', name=op.f('pk_api_key_sites')),
    )
    conn = op.get_bind()
    conn.execute(sites.insert().values(id=1, name=DEFAULT_SITE, created_at=dt.datetime.now(dt.UTC)))
    if conn.dialect.name == 'postgresql':  # the id was given: move the sequence past it
        conn.execute(sa.text("SELECT setval('sites_id_seq', 1)"))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('all_sites', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    conn.execute(sa.text("UPDATE users SET all_sites = :yes WHERE CAST(roles AS TEXT) LIKE :admin"),
                 {"yes": True, "admin": '%"admin"%'})
    conn.execute(sa.text("INSERT INTO user_sites (user_id, site_id) SELECT id, 1 FROM users"))

    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scopes', JSON, nullable=False,
                                      server_default='["screenings:read", "exports:read"]'))
        batch_op.add_column(sa.Column('all_sites', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))

    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('site_id', sa.Integer(), nullable=True))
    conn.execute(sa.text("UPDATE screenings SET site_id = 1"))
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.alter_column('site_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_screenings_site_id_sites'), 'sites',
                                    ['site_id'], ['id'])
        batch_op.create_index('ix_screenings_site', ['site_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('screenings', schema=None) as batch_op:
        batch_op.drop_index('ix_screenings_site')
        batch_op.drop_constraint(batch_op.f('fk_screenings_site_id_sites'), type_='foreignkey')
        batch_op.drop_column('site_id')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('all_sites')
        batch_op.drop_column('scopes')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('all_sites')
    op.drop_table('api_key_sites')
    op.drop_table('user_sites')
    op.drop_table('sites')
