"""A response refers to the survey, version, touchpoint and contact through its invitation only

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 17:40:00.000000

response.survey_id, survey_version_id, touchpoint_id and contact_id are copies of its invitation's, which
holds the foreign keys (and the response holds the invitation's). Checking them again for every stored
response locked the survey's, version's and touchpoint's rows that every answer shares: on PostgreSQL that
is a row lock written per answer and, once two processes store answers at once, a MultiXact per lock. The
index on survey_version_id only served its foreign key. On SQLite the table is rebuilt (batch mode).
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COPIED = (('fk_response_survey_id_survey', 'survey', 'survey_id'),
           ('fk_response_survey_version_id_survey_version', 'survey_version', 'survey_version_id'),
           ('fk_response_touchpoint_id_touchpoint', 'touchpoint', 'touchpoint_id'),
           ('fk_response_contact_id_contact', 'contact', 'contact_id'))


def upgrade() -> None:
    with op.batch_alter_table('response') as batch_op:
        for name, _table, _column in _COPIED:
            batch_op.drop_constraint(name, type_='foreignkey')
        batch_op.drop_index('ix_response_survey_version_id')


def downgrade() -> None:
    with op.batch_alter_table('response') as batch_op:
        batch_op.create_index('ix_response_survey_version_id', ['survey_version_id'])
        for name, table, column in _COPIED:
            batch_op.create_foreign_key(name, table, [column], ['id'])
