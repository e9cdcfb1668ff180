"""Shared rate limits: token buckets and sign-in failure counts kept in the database (voc.limits.postgres)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 12:00:00.000000

UNLOGGED on PostgreSQL: the rows change on every public request, and a crash that forgets them costs
nothing (every bucket starts full again), so they write no WAL. SQLite gets the table too (the schema
matches the models everywhere) but keeps its limits in the process.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == 'postgresql'
    op.create_table('rate_limit',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('tokens', sa.Float(), nullable=False),
    sa.Column('updated_epoch', sa.Float(), nullable=False),
    sa.Column('expires_epoch', sa.Float(), nullable=False),
    sa.Column('last_wait', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limit')),
    prefixes=['UNLOGGED'] if postgres else [],
    )
    op.create_index('ix_rate_limit_expires_epoch', 'rate_limit', ['expires_epoch'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_rate_limit_expires_epoch', table_name='rate_limit')
    op.drop_table('rate_limit')
