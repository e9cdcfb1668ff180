"""survey flow, e-mail and embed

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 06:30:45.051729
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import voc.db

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql')

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('site',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('secret_sealed', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('allowed_origins', JSON, nullable=False),
    sa.Column('created_at', voc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', voc.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_site')),
    sa.UniqueConstraint('key', name=op.f('uq_site_key'))
    )
    op.create_table('partial_response',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invitation_id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('survey_version_id', sa.Integer(), nullable=False),
    sa.Column('answers', JSON, nullable=False),
    sa.Column('last_question_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('started_at', voc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', voc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', voc.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitation.id'],
                            name=op.f('fk_partial_response_invitation_id_invitation')),
    sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], name=op.f('fk_partial_response_survey_id_survey')),
    sa.ForeignKeyConstraint(['survey_version_id'], ['survey_version.id'],
                            name=op.f('fk_partial_response_survey_version_id_survey_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partial_response')),
    sa.UniqueConstraint('invitation_id', name=op.f('uq_partial_response_invitation_id'))
    )
    with op.batch_alter_table('partial_response', schema=None) as batch_op:
        batch_op.create_index('ix_partial_response_survey_started', ['survey_id', 'started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_partial_response_survey_version_id'), ['survey_version_id'],
                              unique=False)

    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('emailed_at', voc.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reminded_at', voc.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('site_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_invitation_site_id'), ['site_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_invitation_site_id_site'), 'site', ['site_id'], ['id'])

    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.add_column(sa.Column('layout', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='steps'))
        batch_op.add_column(sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='en'))
        batch_op.add_column(sa.Column('translations', JSON, nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('anonymous', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('survey_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('layout', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='steps'))
        batch_op.add_column(sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='en'))
        batch_op.add_column(sa.Column('translations', JSON, nullable=False, server_default='{}'))



def downgrade() -> None:
    with op.batch_alter_table('survey_version', schema=None) as batch_op:
        batch_op.drop_column('translations')
        batch_op.drop_column('language')
        batch_op.drop_column('layout')

    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.drop_column('anonymous')
        batch_op.drop_column('translations')
        batch_op.drop_column('language')
        batch_op.drop_column('layout')

    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_invitation_site_id_site'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_invitation_site_id'))
        batch_op.drop_column('site_id')
        batch_op.drop_column('reminded_at')
        batch_op.drop_column('emailed_at')

    with op.batch_alter_table('partial_response', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partial_response_survey_version_id'))
        batch_op.drop_index('ix_partial_response_survey_started')

    op.drop_table('partial_response')
    op.drop_table('site')
