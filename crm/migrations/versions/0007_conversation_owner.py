"""conversation ownership (the ticket, the staff member holding it, their last word, what the waiting
guest was told) and each staff member's language

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-05 02:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.types

revision: str = '0007'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('conversationstate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handoff_ticket_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('staff_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('staff_active_at', crm.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('waiting_notice', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('staffuser', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staffuser', schema=None) as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('conversationstate', schema=None) as batch_op:
        batch_op.drop_column('waiting_notice')
        batch_op.drop_column('staff_active_at')
        batch_op.drop_column('staff_id')
        batch_op.drop_column('handoff_ticket_id')
