"""Webhook messages carry the contact they are about (order_key), so one endpoint gets a contact's messages
in the order they were published while deliveries run concurrently

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 14:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (see 0011: re-creating webhook_message on SQLite would cascade to its attempts).
    op.add_column('webhook_message', sa.Column('order_key', sqlmodel.sql.sqltypes.AutoString(length=300),
                                               nullable=True))
    op.create_index('ix_webhook_message_endpoint_order', 'webhook_message', ['endpoint_id', 'order_key', 'id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_webhook_message_endpoint_order', table_name='webhook_message')
    with op.batch_alter_table('webhook_message', recreate='never') as batch_op:
        batch_op.drop_column('order_key')
