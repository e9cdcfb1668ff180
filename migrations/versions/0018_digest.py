"""The weekly digest: a per-user choice, and one row per user and ISO week it was planned for

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 19:30:00.000000

Plain ADD COLUMN with a server default of false (nobody receives the digest until they choose it), not batch
mode: re-creating dashboard_user on SQLite with foreign keys on would unassign every follow-up.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import voc.db

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('dashboard_user', sa.Column('weekly_digest', sa.Boolean(), nullable=False,
                                              server_default=sa.false()))
    op.create_table('digest_send',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('week', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('created_at', voc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', voc.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['dashboard_user.id'], name=op.f('fk_digest_send_user_id_dashboard_user'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_send')),
    sa.UniqueConstraint('user_id', 'week', name=op.f('uq_digest_send_user_id')),
    )


def downgrade() -> None:
    op.drop_table('digest_send')
    with op.batch_alter_table('dashboard_user', recreate='never') as batch_op:
        batch_op.drop_column('weekly_digest')
