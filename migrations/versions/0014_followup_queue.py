"""Follow-up queue: cases get a priority key, a due time and their touchpoint; touchpoints an SLA in hours

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 09:00:00.000000

Plain ALTER TABLE … ADD COLUMN, not batch mode: re-creating followup on SQLite with foreign keys on would
delete every note (ON DELETE CASCADE). The NOT NULL columns are added with a placeholder default, filled
in for the cases already open (voc.followups.priority, the workspace's SLA and attribute settings), and
the default is then dropped on PostgreSQL (SQLite cannot drop a default; voc always writes both columns).
"""
from collections.abc import Sequence
from datetime import UTC

import sqlalchemy as sa
from alembic import op

import voc.db

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FK = 'fk_followup_touchpoint_id_touchpoint'
_BATCH = 1000


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.add_column('touchpoint', sa.Column('followup_sla_hours', sa.Float(), nullable=True))
    if sqlite:
        op.execute(f'ALTER TABLE followup ADD COLUMN touchpoint_id INTEGER CONSTRAINT {_FK} '
                   'REFERENCES touchpoint (id)')
    else:
        op.add_column('followup', sa.Column('touchpoint_id', sa.Integer(), nullable=True))
        op.create_foreign_key(_FK, 'followup', 'touchpoint', ['touchpoint_id'], ['id'])
    op.add_column('followup', sa.Column('priority_key', sa.Float(), nullable=False, server_default='0'))
    op.add_column('followup', sa.Column('due_at', voc.db.UTCDateTime(timezone=True), nullable=False,
                                        server_default='1970-01-01 00:00:00'))
    op.execute('UPDATE followup SET touchpoint_id = '
               '(SELECT response.touchpoint_id FROM response WHERE response.id = followup.response_id)')
    _fill_priority_and_due()
    if not sqlite:
        op.alter_column('followup', 'priority_key', server_default=None)
        op.alter_column('followup', 'due_at', server_default=None)
    op.create_index(op.f('ix_followup_touchpoint_id'), 'followup', ['touchpoint_id'], unique=False)
    op.create_index('ix_followup_priority_key_id', 'followup', ['priority_key', 'id'], unique=False)
    op.create_index('ix_followup_due_at_id', 'followup', ['due_at', 'id'], unique=False)


def _fill_priority_and_due() -> None:
    """The cases opened before this revision, ranked and given a due time as a new case would be."""
    from voc.config import get_settings
    from voc.followups.priority import SEVERITY_POINTS, badness, customer_value, due_at, priority_key, value_points

    settings = get_settings()
    when = voc.db.UTCDateTime(timezone=True)
    followup = sa.table('followup', sa.column('id'), sa.column('response_id'), sa.column('contact_id'),
                        sa.column('created_at', when), sa.column('priority_key'), sa.column('due_at', when))
    response = sa.table('response', sa.column('id'), sa.column('nps'), sa.column('csat'), sa.column('ces'),
                        sa.column('sentiment'))
    contact = sa.table('contact', sa.column('id'), sa.column('attributes', sa.JSON()))
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(followup.c.id, followup.c.created_at, response.c.nps, response.c.csat, response.c.ces,
                      response.c.sentiment, contact.c.attributes)
            .select_from(followup.join(response, response.c.id == followup.c.response_id)
                         .join(contact, contact.c.id == followup.c.contact_id))
            .where(followup.c.id > last).order_by(followup.c.id).limit(_BATCH)).all()
        if not rows:
            return
        changes = []
        for row in rows:
            opened = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
            points = SEVERITY_POINTS * badness({'nps': row.nps, 'csat': row.csat, 'ces': row.ces}, row.sentiment)
            points += value_points(customer_value(row.attributes, settings.followup_value_attribute))
            changes.append({'ident': row.id, 'key': priority_key(points, opened),
                            'due': due_at(opened, settings.followup_sla_hours)})
        bind.execute(followup.update().where(followup.c.id == sa.bindparam('ident'))
                     .values(priority_key=sa.bindparam('key'), due_at=sa.bindparam('due')), changes)
        last = rows[-1].id


def downgrade() -> None:
    op.drop_index('ix_followup_due_at_id', table_name='followup')
    op.drop_index('ix_followup_priority_key_id', table_name='followup')
    op.drop_index(op.f('ix_followup_touchpoint_id'), table_name='followup')
    op.drop_column('followup', 'due_at')
    op.drop_column('followup', 'priority_key')
    if op.get_bind().dialect.name != 'sqlite':  # SQLite drops the column's own constraint with it
        op.drop_constraint(_FK, 'followup', type_='foreignkey')
    op.drop_column('followup', 'touchpoint_id')
    op.drop_column('touchpoint', 'followup_sla_hours')
