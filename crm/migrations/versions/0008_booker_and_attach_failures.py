"""booking: the booker's full name and what was paid; attachfailure: failed ownership proofs, counted per
reference and per guest across attempts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 02:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.types

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('booker_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('paid_amount', sa.Integer(), nullable=False, server_default='0'))
    op.create_table(
        'attachfailure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('guest_id', sa.Integer(), nullable=False),
        sa.Column('failed_at', crm.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['guest_id'], ['guest.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_attachfailure_reference_at', 'attachfailure', ['reference', 'failed_at'], unique=False)
    op.create_index('ix_attachfailure_guest_at', 'attachfailure', ['guest_id', 'failed_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_attachfailure_guest_at', table_name='attachfailure')
    op.drop_index('ix_attachfailure_reference_at', table_name='attachfailure')
    op.drop_table('attachfailure')
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_column('paid_amount')
        batch_op.drop_column('booker_name')
