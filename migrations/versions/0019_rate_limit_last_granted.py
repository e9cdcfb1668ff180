"""Rate limits decided a batch at a time: each bucket keeps how many takes its last batch granted

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 12:15:00.000000

The upsert that decides a batch returns only the new row, so the row says how many of the batch's takes got
a token (the first ones asked) next to the wait the others were told. Plain ADD COLUMN with a server default
of 0 (the next batch overwrites it); the table stays UNLOGGED on PostgreSQL.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('rate_limit', sa.Column('last_granted', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('rate_limit', recreate='never') as batch_op:
        batch_op.drop_column('last_granted')
