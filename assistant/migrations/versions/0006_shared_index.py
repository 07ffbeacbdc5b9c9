"""Shared index generations: the live generation and its files in the database, and
which generation each replica serves (for garbage collection with a grace period).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from assistant.storage import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "index_generations",
        sa.Column("generation", sa.String(length=64), primary_key=True),
        sa.Column("collection", sa.String(length=200), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("artifact", sa.LargeBinary(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_index_generations_published_at", "index_generations", ["published_at"])
    op.create_table(
        "index_replicas",
        sa.Column("replica", sa.String(length=200), primary_key=True),
        sa.Column("generation", sa.String(length=64), primary_key=True),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("index_replicas")
    op.drop_index("ix_index_generations_published_at", table_name="index_generations")
    op.drop_table("index_generations")
