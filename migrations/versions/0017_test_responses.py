"""Test invitations and their responses are marked, so every figure can leave them out

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 19:15:00.000000

Plain ADD COLUMN with a server default of false: every invitation and response made before is real.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('invitation', sa.Column('is_test', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('response', sa.Column('is_test', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('response', recreate='never') as batch_op:
        batch_op.drop_column('is_test')
    with op.batch_alter_table('invitation', recreate='never') as batch_op:
        batch_op.drop_column('is_test')
