"""dashboard users: disabled_at; the lockout columns go (sign-in is throttled in the process instead)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 10:00:00.000000

Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+), not batch mode: re-creating dashboard_user on SQLite
with foreign keys on would set every follow-up's assignee and note author to NULL.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import voc.db

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('dashboard_user', sa.Column('disabled_at', voc.db.UTCDateTime(timezone=True), nullable=True))
    op.drop_column('dashboard_user', 'locked_until')
    op.drop_column('dashboard_user', 'failed_logins')


def downgrade() -> None:
    op.add_column('dashboard_user', sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('dashboard_user', sa.Column('locked_until', voc.db.UTCDateTime(timezone=True), nullable=True))
    op.drop_column('dashboard_user', 'disabled_at')
