"""channeltoken: platform access tokens shared by all workers (WeChat's access_token)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 02:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import crm.types

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'channeltoken',
        sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('token', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column('expires_at', crm.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('fetched_at', crm.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('channel'),
    )


def downgrade() -> None:
    op.drop_table('channeltoken')
