"""dashboard: rollup totals over every survey and/or touchpoint, follow-ups listed newest first

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 07:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    totals = op.create_table('rollup_total',
    sa.Column('survey_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('touchpoint_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('invitations', sa.Integer(), nullable=False),
    sa.Column('responses', sa.Integer(), nullable=False),
    sa.Column('nps_promoters', sa.Integer(), nullable=False),
    sa.Column('nps_passives', sa.Integer(), nullable=False),
    sa.Column('nps_detractors', sa.Integer(), nullable=False),
    sa.Column('nps_0', sa.Integer(), nullable=False),
    sa.Column('nps_1', sa.Integer(), nullable=False),
    sa.Column('nps_2', sa.Integer(), nullable=False),
    sa.Column('nps_3', sa.Integer(), nullable=False),
    sa.Column('nps_4', sa.Integer(), nullable=False),
    sa.Column('nps_5', sa.Integer(), nullable=False),
    sa.Column('nps_6', sa.Integer(), nullable=False),
    sa.Column('nps_7', sa.Integer(), nullable=False),
    sa.Column('nps_8', sa.Integer(), nullable=False),
    sa.Column('nps_9', sa.Integer(), nullable=False),
    sa.Column('nps_10', sa.Integer(), nullable=False),
    sa.Column('csat_1', sa.Integer(), nullable=False),
    sa.Column('csat_2', sa.Integer(), nullable=False),
    sa.Column('csat_3', sa.Integer(), nullable=False),
    sa.Column('csat_4', sa.Integer(), nullable=False),
    sa.Column('csat_5', sa.Integer(), nullable=False),
    sa.Column('ces_1', sa.Integer(), nullable=False),
    sa.Column('ces_2', sa.Integer(), nullable=False),
    sa.Column('ces_3', sa.Integer(), nullable=False),
    sa.Column('ces_4', sa.Integer(), nullable=False),
    sa.Column('ces_5', sa.Integer(), nullable=False),
    sa.Column('ces_6', sa.Integer(), nullable=False),
    sa.Column('ces_7', sa.Integer(), nullable=False),
    sa.Column('sentiment_sum', sa.Float(), nullable=False),
    sa.Column('sentiment_count', sa.Integer(), nullable=False),
    sa.Column('sentiment_negative', sa.Integer(), nullable=False),
    sa.Column('sentiment_neutral', sa.Integer(), nullable=False),
    sa.Column('sentiment_positive', sa.Integer(), nullable=False),
    sa.Column('sense_valence_sum', sa.Float(), nullable=False),
    sa.Column('sense_salience_sum', sa.Float(), nullable=False),
    sa.Column('sense_count', sa.Integer(), nullable=False),
    sa.Column('feel_valence_sum', sa.Float(), nullable=False),
    sa.Column('feel_salience_sum', sa.Float(), nullable=False),
    sa.Column('feel_count', sa.Integer(), nullable=False),
    sa.Column('think_valence_sum', sa.Float(), nullable=False),
    sa.Column('think_salience_sum', sa.Float(), nullable=False),
    sa.Column('think_count', sa.Integer(), nullable=False),
    sa.Column('act_valence_sum', sa.Float(), nullable=False),
    sa.Column('act_salience_sum', sa.Float(), nullable=False),
    sa.Column('act_count', sa.Integer(), nullable=False),
    sa.Column('relate_valence_sum', sa.Float(), nullable=False),
    sa.Column('relate_salience_sum', sa.Float(), nullable=False),
    sa.Column('relate_count', sa.Integer(), nullable=False),
    sa.Column('mismatch_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('survey_id', 'touchpoint_id', 'day', name=op.f('pk_rollup_total'))
    )
    # Fill the totals from the rollups already there (-1 stands for every survey or every touchpoint).
    counts = [c.name for c in totals.columns if c.name not in ('survey_id', 'touchpoint_id', 'day')]
    sums, columns = ', '.join(f'SUM({c})' for c in counts), ', '.join(counts)
    for survey, touchpoint, group in (('survey_id', '-1', 'survey_id'), ('-1', 'touchpoint_id', 'touchpoint_id'),
                                      ('-1', '-1', None)):
        group_by = f'day, {group}' if group else 'day'
        op.execute(f'INSERT INTO rollup_total (survey_id, touchpoint_id, day, {columns}) '  # noqa: S608
                   f'SELECT {survey}, {touchpoint}, day, {sums} FROM rollup GROUP BY {group_by}')
    op.create_index('ix_followup_created_at_id', 'followup', ['created_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_followup_created_at_id', table_name='followup')
    op.drop_table('rollup_total')
