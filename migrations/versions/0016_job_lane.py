"""Jobs carry their lane (one webhook endpoint), so a worker whose lane is full claims the jobs behind it

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 17:20:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, nullable: jobs queued before it run as before (their lane comes from their kind).
    op.add_column('job', sa.Column('lane', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('job', recreate='never') as batch_op:
        batch_op.drop_column('lane')
