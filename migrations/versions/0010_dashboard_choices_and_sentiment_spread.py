"""dashboard: answers to choice questions per day, and the spread of sentiment (Σ compound²) in the rollups

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 09:00:00.000000

Days rolled up before this revision carry no Σ compound² and no choice counts, and the rollups' days are now
workspace days (VOC_TIME_ZONE, UTC by default): run `voc rebuild-rollups` after upgrading (and after changing
VOC_TIME_ZONE) to recompute every rollup from the invitations, partial responses, responses and answers.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ('rollup', 'rollup_total'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('sentiment_square_sum', sa.Float(), nullable=False, server_default='0'))
    op.create_table('choice_rollup',
    sa.Column('survey_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('touchpoint_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('question_id', sa.String(length=64), nullable=False),
    sa.Column('option', sa.String(length=200), nullable=False),
    sa.Column('answers', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('survey_id', 'touchpoint_id', 'day', 'question_id', 'option',
                            name=op.f('pk_choice_rollup'))
    )


def downgrade() -> None:
    op.drop_table('choice_rollup')
    for table in ('rollup_total', 'rollup'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('sentiment_square_sum')
