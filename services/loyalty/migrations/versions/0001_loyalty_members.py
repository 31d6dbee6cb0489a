"""Loyalty members (a projection of the profile's customers), the outbox and the inbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from patron_shared.db.migrations import create_messaging_tables, enable_tenant_isolation

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "loyalty_members",
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("member_since", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(20), nullable=False, server_default="active"),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("tenant_id", "customer_id", name="pk_loyalty_members"),
        sa.CheckConstraint("status IN ('active', 'closed')", name="ck_loyalty_members_status"),
    )
    enable_tenant_isolation("loyalty_members")


def downgrade() -> None:
    op.drop_table("loyalty_members")
    op.drop_table("inbox")
    op.drop_table("outbox")
