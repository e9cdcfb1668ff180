"""follow-ups

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 06:10:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import voc.db

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('followup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('created_at', voc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', voc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', voc.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['dashboard_user.id'],
                            name=op.f('fk_followup_assignee_id_dashboard_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_followup_contact_id_contact')),
    sa.ForeignKeyConstraint(['response_id'], ['response.id'], name=op.f('fk_followup_response_id_response'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followup')),
    sa.UniqueConstraint('response_id', name=op.f('uq_followup_response_id'))
    )
    op.create_index(op.f('ix_followup_assignee_id'), 'followup', ['assignee_id'], unique=False)
    op.create_index(op.f('ix_followup_contact_id'), 'followup', ['contact_id'], unique=False)
    op.create_index(op.f('ix_followup_status'), 'followup', ['status'], unique=False)
    op.create_table('followup_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('followup_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', voc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['dashboard_user.id'],
                            name=op.f('fk_followup_note_author_id_dashboard_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['followup_id'], ['followup.id'], name=op.f('fk_followup_note_followup_id_followup'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_followup_note'))
    )
    op.create_index(op.f('ix_followup_note_author_id'), 'followup_note', ['author_id'], unique=False)
    op.create_index(op.f('ix_followup_note_followup_id'), 'followup_note', ['followup_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_followup_note_followup_id'), table_name='followup_note')
    op.drop_index(op.f('ix_followup_note_author_id'), table_name='followup_note')
    op.drop_table('followup_note')
    op.drop_index(op.f('ix_followup_status'), table_name='followup')
    op.drop_index(op.f('ix_followup_contact_id'), table_name='followup')
    op.drop_index(op.f('ix_followup_assignee_id'), table_name='followup')
    op.drop_table('followup')
