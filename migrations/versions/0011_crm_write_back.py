"""CRM write-back: endpoints get a method, preset options, a Salesforce connection and a credentials state;
attempts record the resolved method and URL; Salesforce connections

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 12:00:00.000000

Plain ALTER TABLE … ADD COLUMN, not batch mode: re-creating webhook_endpoint on SQLite with foreign keys
on would delete every webhook message (ON DELETE CASCADE). SQLite adds the foreign key as a column
constraint, so it is written out there; PostgreSQL gets it as a named constraint.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import voc.db

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FK = 'fk_webhook_endpoint_connection_id_crm_connection'


def upgrade() -> None:
    op.create_table('crm_connection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('login_url', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('client_secret', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('api_version', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('access_token', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
    sa.Column('instance_url', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
    sa.Column('token_issued_at', voc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', voc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', voc.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crm_connection'))
    )
    json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql')
    op.add_column('webhook_endpoint', sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False,
                                                server_default='POST'))
    op.add_column('webhook_endpoint', sa.Column('options', json_type, nullable=False, server_default='{}'))
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'ALTER TABLE webhook_endpoint ADD COLUMN connection_id INTEGER CONSTRAINT {_FK} '
                   'REFERENCES crm_connection (id)')
    else:
        op.add_column('webhook_endpoint', sa.Column('connection_id', sa.Integer(), nullable=True))
        op.create_foreign_key(_FK, 'webhook_endpoint', 'crm_connection', ['connection_id'], ['id'])
    op.add_column('webhook_endpoint', sa.Column('credentials_rejected_at', voc.db.UTCDateTime(timezone=True),
                                                nullable=True))
    op.add_column('webhook_endpoint', sa.Column('credentials_rejected_reason',
                                                sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True))
    op.add_column('webhook_endpoint', sa.Column('crm_setup_result', sqlmodel.sql.sqltypes.AutoString(length=1000),
                                                nullable=True))
    op.add_column('webhook_endpoint', sa.Column('crm_setup_at', voc.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('webhook_attempt', sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))
    op.add_column('webhook_attempt', sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=4096), nullable=True))
    # Endpoints saved before this revision keep POSTing to their fixed URL, as they did.


def downgrade() -> None:
    op.drop_column('webhook_attempt', 'url')
    op.drop_column('webhook_attempt', 'method')
    for column in ('crm_setup_at', 'crm_setup_result', 'credentials_rejected_reason', 'credentials_rejected_at'):
        op.drop_column('webhook_endpoint', column)
    if op.get_bind().dialect.name != 'sqlite':  # SQLite drops the column's own constraint with it
        op.drop_constraint(_FK, 'webhook_endpoint', type_='foreignkey')
    op.drop_column('webhook_endpoint', 'connection_id')
    op.drop_column('webhook_endpoint', 'options')
    op.drop_column('webhook_endpoint', 'method')
    op.drop_table('crm_connection')
