"""Drop four indexes that another index of their table already leads with

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 16:00:00.000000

answer.response_id is the first column of the unique (response_id, question_id); response.survey_id and
response.touchpoint_id lead (…, completed_at); invitation.contact_id leads (contact_id, invited_at). Those
indexes serve every lookup and ON DELETE the single-column ones did, and each row written (every answer
stores a response and its answers) no longer updates a fifth, sixth or seventh index.
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REPEATED = (('ix_answer_response_id', 'answer', 'response_id'),
             ('ix_response_survey_id', 'response', 'survey_id'),
             ('ix_response_touchpoint_id', 'response', 'touchpoint_id'),
             ('ix_invitation_contact_id', 'invitation', 'contact_id'))


def upgrade() -> None:
    for name, table, _column in _REPEATED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, column in _REPEATED:
        op.create_index(name, table, [column])
