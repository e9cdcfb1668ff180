"""funnel counts in rollups: invitations opened and responses started, per day

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 07:49:13.852457

Days rolled up before this revision carry no opened/started counts; `voc rebuild-rollups` recomputes
every rollup from the invitations, partial responses and responses.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ('rollup', 'rollup_total'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('opened', sa.Integer(), nullable=False, server_default='0'))
            batch_op.add_column(sa.Column('started', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    for table in ('rollup_total', 'rollup'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('started')
            batch_op.drop_column('opened')
