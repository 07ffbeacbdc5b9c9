"""Consent record on leads (个人信息保护法): when the notice was agreed to, and its version.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from assistant.storage import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("consent_at", UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column("consent_version", sa.String(length=40), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.drop_column("consent_version")
        batch.drop_column("consent_at")
